#!/usr/bin/env bash
# Install what the project's real-ZooKeeper tests and the test-data generator need.
#
#  * zstd (tar.zst test archives), bsdutils (`script`: terminal tests), tar, gzip.
#  * cargo-deb, dpkg-dev (dpkg-shlibdeps, strip/objcopy) and man-db: the CI step that builds the
#    Debian package, installs it and reads `man zkdump`.
#  * ZooKeeper 3.8.x from Debian bookworm (system install, plus its dependency jars
#    under /usr/share/java), snappy-java, GNU time.
#  * kazoo + pytest for the Python harness; moto[server] (an S3-protocol server) for
#    zkbackup's S3 store tests.
#  * ZooKeeper 3.9.x (Debian trixie) and 3.4.x (Debian bullseye) unpacked with
#    `dpkg -x` into <project>/.zk/3.9 and <project>/.zk/3.4 (never installed into
#    the system). <project>/.zk/3.8 is a symlink farm pointing at the system install.
#
# Idempotent; non-interactive; must run as root on Debian bookworm.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
ZK="$ROOT/.zk"
export DEBIAN_FRONTEND=noninteractive

KAZOO_VERSION="${KAZOO_VERSION:-2.10.0}"
CARGO_DEB_VERSION="${CARGO_DEB_VERSION:-3.8.0}"
PYTEST_VERSION="${PYTEST_VERSION:-8.3.5}"
MOTO_VERSION="${MOTO_VERSION:-5.2.1}"

log() { printf '[install-deps] %s\n' "$*" >&2; }

if [ "$(id -u)" != 0 ]; then
    SUDO=sudo
else
    SUDO=
fi

# ---------------------------------------------------------------- system packages
need_pkgs=(zookeeper libzookeeper-java libsnappy-java time ca-certificates zstd bsdutils tar gzip age
           dpkg-dev man-db)
missing=()
for p in "${need_pkgs[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if ! command -v javac >/dev/null 2>&1; then
    missing+=(default-jdk-headless)
fi
if [ "${#missing[@]}" -gt 0 ]; then
    log "apt-get install ${missing[*]}"
    $SUDO apt-get update -qq
    $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
else
    log "system packages already installed"
fi

# ---------------------------------------------------------------- python packages
PY="${PYTHON:-python3}"
if "$PY" -c "import kazoo, pytest, sys; sys.exit(0 if kazoo.version.__version__=='$KAZOO_VERSION' else 1)" 2>/dev/null; then
    log "kazoo/pytest already installed"
else
    log "pip install kazoo==$KAZOO_VERSION pytest==$PYTEST_VERSION"
    "$PY" -m pip install -q --disable-pip-version-check \
        "kazoo==$KAZOO_VERSION" "pytest==$PYTEST_VERSION" 2>&1 | grep -v 'Running pip as' || true
    "$PY" -c "import kazoo, pytest"
fi
# moto[server]: the S3-protocol server that zkbackup's S3 store tests run against.
if "$PY" -c "import importlib.metadata as m, moto.server, flask, flask_cors, sys; sys.exit(0 if m.version('moto')=='$MOTO_VERSION' else 1)" 2>/dev/null; then
    log "moto[server] already installed"
else
    log "pip install moto[server]==$MOTO_VERSION"
    "$PY" -m pip install -q --disable-pip-version-check \
        "moto[server]==$MOTO_VERSION" 2>&1 | grep -v 'Running pip as' || true
    "$PY" -c "import moto.server, flask, flask_cors"
fi
# maturin: builds the Python package's wheel from python/ (scripts/test.sh installs the wheel
# into a fresh venv with pytest and kazoo, and runs python/tests).
MATURIN_VERSION="${MATURIN_VERSION:-1.16.0}"
if [ "$("$PY" -m maturin --version 2>/dev/null || true)" = "maturin $MATURIN_VERSION" ]; then
    log "maturin $MATURIN_VERSION already installed"
else
    log "pip install maturin==$MATURIN_VERSION"
    "$PY" -m pip install -q --disable-pip-version-check \
        "maturin==$MATURIN_VERSION" 2>&1 | grep -v 'Running pip as' || true
    "$PY" -m maturin --version
fi
"$PY" -c "import venv, ensurepip" || { log "python3 lacks venv/ensurepip (apt-get install python3-venv)"; exit 1; }

# ---------------------------------------------------------------- other ZooKeeper versions
# Use the same Debian mirror host as the machine's own apt sources.
mirror="$( { cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources 2>/dev/null \
          | grep -v '^[[:space:]]*#' | grep -oE 'https?://[^ ]+/debian/?( |$)' \
          | grep -v -- '-security' | head -n1 | tr -d ' '; } || true)"
mirror="${mirror%/}"
[ -n "$mirror" ] || mirror="http://deb.debian.org/debian"

APT_PRIV="$ZK/.apt"
keyring=/usr/share/keyrings/debian-archive-keyring.gpg

fetch_version() {  # $1 = short version (3.9 / 3.4), $2 = suite, $3 = package glob hint
    local ver="$1" suite="$2" dest="$ZK/$1"
    if [ -f "$dest/.complete" ]; then
        log "ZooKeeper $ver already unpacked in $dest ($(cat "$dest/.complete"))"
        return 0
    fi
    local priv="$APT_PRIV/$suite"
    mkdir -p "$priv/lists/partial" "$priv/cache/archives/partial" "$priv/debs"
    cat > "$priv/sources.list" <<SRC
deb [signed-by=$keyring] $mirror $suite main
SRC
    local opts=(-o "Dir::Etc::SourceList=$priv/sources.list" -o "Dir::Etc::SourceParts=/dev/null"
                -o "Dir::State::Lists=$priv/lists" -o "Dir::Cache=$priv/cache"
                -o "Dir::Etc::Preferences=/dev/null" -o "Dir::Etc::PreferencesParts=/dev/null"
                -o "APT::Get::List-Cleanup=0" -o "Debug::NoLocking=1"
                -o "APT::Sandbox::User=root")
    log "apt-get update ($suite, private lists)"
    apt-get "${opts[@]}" update -qq
    # The jar lives in libzookeeper-java; the zookeeper package holds scripts/config.
    # "/$suite" pins the suite: otherwise apt would pick the (newer) installed version.
    local pkgs=("zookeeper/$suite" "libzookeeper-java/$suite")
    rm -rf "$dest"
    mkdir -p "$dest"
    (
        cd "$priv/debs"
        rm -f ./*.deb
        log "apt-get download ${pkgs[*]} ($suite)"
        apt-get "${opts[@]}" download "${pkgs[@]}"
        for d in ./*.deb; do dpkg -x "$d" "$dest"; done
        # remember what we got
        for d in ./*.deb; do dpkg-deb --show --showformat='${Package} ${Version}\n' "$d"; done > "$dest/PACKAGES"
    )
    local jar
    jar="$(ls "$dest"/usr/share/java/zookeeper-3*.jar 2>/dev/null | grep -v -- '-tests' | head -n1 || true)"
    [ -n "$jar" ] || { log "no zookeeper jar found in $dest"; exit 1; }
    ln -sfn "${jar#$dest/}" "$dest/zookeeper.jar"
    basename "$jar" > "$dest/.complete"
    log "ZooKeeper $ver: $(cat "$dest/.complete")"
}

mkdir -p "$ZK"
fetch_version 3.9 trixie
fetch_version 3.4 bullseye

# 3.8 = the system install (bookworm)
mkdir -p "$ZK/3.8"
sysjar="$(readlink -f /usr/share/java/zookeeper.jar)"
ln -sfn "$sysjar" "$ZK/3.8/zookeeper.jar"
ln -sfn /usr/share/zookeeper "$ZK/3.8/share" 2>/dev/null || true
dpkg-query -W -f='${Package} ${Version}\n' zookeeper libzookeeper-java > "$ZK/3.8/PACKAGES"
sysver="$(dpkg-query -W -f='${Version}' libzookeeper-java)"
echo "zookeeper-${sysver%%-*}.jar" > "$ZK/3.8/.complete"

log "done: $(for v in 3.4 3.8 3.9; do printf '%s=%s ' "$v" "$(cat "$ZK/$v/.complete")"; done)"

# ---------------------------------------------------------------- cargo-fuzz (CI builds and runs the fuzz targets)
if ! command -v cargo-fuzz >/dev/null 2>&1 && command -v cargo >/dev/null 2>&1; then
    log "cargo install cargo-fuzz"
    cargo install --locked cargo-fuzz >&2
fi

# ---------------------------------------------------------------- cargo-deb (CI builds and installs the Debian package)
# About 1.5 minutes to compile on 2 cores, once.
if command -v cargo >/dev/null 2>&1; then
    if [ "$(cargo deb --version 2>/dev/null || true)" = "cargo-deb $CARGO_DEB_VERSION" ]; then
        log "cargo-deb $CARGO_DEB_VERSION already installed"
    else
        log "cargo install cargo-deb $CARGO_DEB_VERSION"
        cargo install --locked --version "$CARGO_DEB_VERSION" cargo-deb >&2
    fi
fi
