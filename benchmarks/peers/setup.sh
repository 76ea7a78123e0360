#!/bin/sh
# Install the peers of the queue benchmark (benchmarks/bench_queue.py) on Debian 12.
#
#   sh benchmarks/peers/setup.sh              # everything below
#   sh benchmarks/peers/setup.sh nats rabbitmq localstack moto
#
# Nothing here is started as a service: the benchmark starts each server itself on loopback,
# in a temp directory, and stops it. Run as root (or prefix apt-get with sudo).
set -eu
cd "$(dirname "$0")/../.."

peers="${*:-nats rabbitmq moto localstack}"

for peer in $peers; do
    case "$peer" in
    nats)
        # Debian 12: nats-server 2.9.10 (JetStream included)
        DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends nats-server
        ;;
    rabbitmq)
        # Debian 12: rabbitmq-server 3.10.8 with Erlang 25. Debian's postinst tries to start
        # the service; where no init system runs (containers) that fails harmlessly.
        DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends rabbitmq-server
        ;;
    moto)
        # moto[server] and the clients (nats-py, aio-pika) are the project's `bench` extra
        .venv/bin/python -m pip install -e '.[bench]'
        ;;
    localstack)
        # localstack-core needs Python >= 3.12; it gets its own venv (.venv-localstack,
        # gitignored). The pins repair what its 2026.3.0 release breaks against the newest
        # dependencies: cbor2 6 dropped `cbor2._decoder` (ASF's parser imports it), pyOpenSSL
        # >= 25.2 dropped X509.add_extensions (its self-signed certificate), and Twisted's TLS
        # needs service-identity.
        # (a pyenv shim may be on PATH without 3.13 selected: it is tried, not trusted)
        PY="${LOCALSTACK_BASE_PYTHON:-}"
        for candidate in "$PY" python3.13 python3.12 "$HOME"/.pyenv/versions/3.13*/bin/python \
                "$HOME"/.pyenv/versions/3.12*/bin/python; do
            if [ -n "$candidate" ] && "$candidate" -c 'import sys; assert sys.version_info >= (3, 12)' 2>/dev/null; then
                PY="$candidate"
                break
            fi
        done
        "$PY" -m venv .venv-localstack
        .venv-localstack/bin/python -m pip install --quiet \
            'localstack-core[runtime]==2026.3.0' 'cbor2<6' 'pyopenssl==25.1.0' \
            'cryptography>=45,<46' service-identity
        ;;
    *)
        echo "unknown peer: $peer (nats, rabbitmq, moto, localstack)" >&2
        exit 2
        ;;
    esac
done
