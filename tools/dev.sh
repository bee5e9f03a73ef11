#!/usr/bin/env bash
# One-command set-up and tasks on Debian 12 (run as root, or with sudo available).
#   bash tools/dev.sh demo   install what is needed, make the sample L1C product, run L2A_Process
#   bash tools/dev.sh test   install what is needed, run the whole test suite
#   bash tools/dev.sh setup  install only
# Idempotent: what is already installed is skipped.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
VENV=$ROOT/.venv
APT_PACKAGES=(
  python3 python3-venv python3-pip python3-setuptools python3-wheel
  qgis python3-qgis qgis-providers gdal-bin python3-gdal
  python3-numpy python3-scipy python3-lxml python3-tables python3-glymur libopenjp2-7
  xvfb xauth libgfortran5 grass-core
  qttools5-dev-tools pyqt5-dev-tools
)

log() { printf '[dev] %s\n' "$*" >&2; }

install_debian_packages() {
  local missing=()
  for p in "${APT_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  if ((${#missing[@]})); then
    log "installing Debian packages: ${missing[*]}"
    local sudo=""; [ "$(id -u)" -eq 0 ] || sudo=sudo
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  fi
}

make_venv() {
  if [ ! -x "$VENV/bin/python" ]; then
    log "creating $VENV (system site packages: Debian's numpy, GDAL, QGIS)"
    /usr/bin/python3 -m venv --system-site-packages "$VENV"
  fi
  local stamp="$VENV/.installed" want
  want=$(cat requirements-dev.txt constraints.txt pyproject.toml | sha256sum | cut -c1-16)
  if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
    log "installing Python packages into $VENV"
    "$VENV/bin/python" -m pip install -q --disable-pip-version-check -c constraints.txt -r requirements-dev.txt
    "$VENV/bin/python" -m pip install -q --disable-pip-version-check --no-build-isolation --no-deps -e .
    echo "$want" > "$stamp"
  fi
  "$VENV/bin/python" -c "import numpy, sys; assert numpy.__version__.startswith('1.'), numpy.__version__" \
    || { log "numpy 2 found in $VENV: it breaks Debian's GDAL/QGIS bindings"; exit 1; }
}

setup() { install_debian_packages; make_venv; }

demo() {
  setup
  local out="$ROOT/demo"
  mkdir -p "$out"
  log "generating the sample L1C product (small) in $out"
  local l1c
  l1c=$("$VENV/bin/python" tools/make_sample_product.py --size small --output-dir "$out" --quiet)
  log "converting $l1c with L2A_Process"
  "$VENV/bin/L2A_Process" "$l1c" --output_dir "$out"
}

run_tests() {
  setup
  export QT_QPA_PLATFORM=offscreen XDG_RUNTIME_DIR=${XDG_RUNTIME_DIR:-/tmp/runtime-$(id -u)}
  mkdir -p -m 0700 "$XDG_RUNTIME_DIR"
  export PYTHONPATH=/usr/share/qgis/python/plugins${PYTHONPATH:+:$PYTHONPATH}
  "$VENV/bin/python" -m pytest "$@"
}

case "${1:-}" in
  setup) setup ;;
  demo) demo ;;
  test) shift; run_tests "$@" ;;
  *) echo "usage: bash tools/dev.sh {setup|demo|test [pytest args]}" >&2; exit 2 ;;
esac
