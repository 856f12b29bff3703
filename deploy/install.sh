#!/usr/bin/env bash
# Install what SalesPulse needs on this machine; safe to run again.
#
#   Debian packages: redis-server, prometheus (with promtool),
#                    prometheus-alertmanager (with amtool), kcat, Java 17, Maven
#   Kafka broker:    jars from Maven Central, into .cache/kafka/<version>/
#   Python:          a virtual environment in .venv with the project and its
#                    dev extra
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"

log() { printf 'install: %s\n' "$*" >&2; }

install_debian_packages() {
    local wanted=(redis-server prometheus prometheus-alertmanager kcat
                  openjdk-17-jre-headless maven python3-venv)
    local missing=()
    for package in "${wanted[@]}"; do
        dpkg-query -W -f='${Status}' "$package" 2>/dev/null \
            | grep -q "install ok installed" || missing+=("$package")
    done
    if ((${#missing[@]})); then
        log "apt-get install ${missing[*]}"
        apt-get update -q >/dev/null
        DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
            --no-install-recommends "${missing[@]}" >/dev/null
    fi
    # Debian starts these as services where an init system runs; SalesPulse
    # runs its own instances on its own ports, so leave theirs alone.
}

install_kafka() {
    local version
    version=$(sed -n 's:.*<kafka.version>\(.*\)</kafka.version>.*:\1:p' \
        deploy/kafka/pom.xml)
    local target=".cache/kafka/$version"
    if [[ -f "$target/.complete" ]]; then
        return
    fi
    log "resolving Kafka $version from Maven Central into $target"
    rm -rf "$target"
    mkdir -p .cache
    if ! mvn -B -f deploy/kafka/pom.xml dependency:copy-dependencies \
            -DincludeScope=runtime -DoutputDirectory="$root/$target" \
            >.cache/maven.log 2>&1; then
        tail -n 30 .cache/maven.log >&2
        log "Maven failed; the whole log is .cache/maven.log"
        exit 1
    fi
    touch "$target/.complete"
}

install_python() {
    local stamp=".venv/.installed"
    if [[ ! -x .venv/bin/python ]]; then
        log "creating .venv"
        python3 -m venv .venv
    fi
    if [[ ! -f "$stamp" || pyproject.toml -nt "$stamp" ]]; then
        log "pip install -e .[dev] (log: .cache/pip.log)"
        mkdir -p .cache
        if ! { .venv/bin/python -m pip install --upgrade pip \
               && .venv/bin/python -m pip install -e '.[dev]'; } \
               >.cache/pip.log 2>&1; then
            tail -n 30 .cache/pip.log >&2
            log "pip failed; the whole log is .cache/pip.log"
            exit 1
        fi
        touch "$stamp"
    fi
}

install_debian_packages
install_kafka
install_python
