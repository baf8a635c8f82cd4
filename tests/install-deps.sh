#!/usr/bin/env bash
# Install everything logsift needs to build, test and benchmark, from Debian 12 packages only.
# Safe to rerun; as root it uses apt-get directly, otherwise through sudo.
set -euo pipefail

packages=(
  openssl # the verify tests make RSA/Ed25519 keys and sign CloudTrail digests with it
  build-essential cmake pkg-config clang
  libhyperscan-dev libisal-dev libzstd-dev libjansson-dev libssl-dev
  libcurl4-openssl-dev libmaxminddb-dev libyaml-dev libexpat1-dev
  libjsmn-dev # header-only JSON tokenizer: Sigma confirmation reads fields from its tokens
  libcmocka-dev
  libdeflate-dev # logsift-gen's gzip (deterministic whole-member deflate); a bench ceiling
  libmaxmind-db-writer-perl # the GeoIP tests write their MaxMind DBs with it (tests/data/geoip)
  gzip zstd python3 ripgrep ugrep
  python3-botocore awscli
  python3-yaml
  chromium
)

# s3rver (npm) for the S3 integration tests; its install script is a no-op when up to date.
if command -v npm >/dev/null; then
  "$(dirname "$0")/integration/s3rver/install.sh" ||
    echo "install-deps: npm could not install s3rver; the S3 integration tests will be skipped" >&2
else
  echo "install-deps: no npm; the S3 integration tests will be skipped" >&2
fi

is_installed() {
  dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'
}
missing=()
for p in "${packages[@]}"; do
  # Vectorscan (cmake -DLOGSIFT_VECTORSCAN=ON) replaces Hyperscan's package: either will do.
  [ "$p" = libhyperscan-dev ] && is_installed libvectorscan-dev && continue
  is_installed "$p" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
echo "install-deps: installing ${missing[*]}" >&2
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
