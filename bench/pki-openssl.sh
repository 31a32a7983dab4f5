#!/usr/bin/env bash
# The same certificate set as etcd-kit's createClusterPki for 3 members, made the way a person following
# the recipe would with the openssl CLI: one command after another. CA + 3 server + 3 peer + 2 client
# certificates = 9 keys, 26 openssl invocations.
#
#   bench/pki-openssl.sh <out-dir> <rsa|ec>
set -euo pipefail

out=${1:?usage: pki-openssl.sh <out-dir> <rsa|ec>}
alg=${2:-rsa}
case $alg in
  rsa) keyopts=(-algorithm RSA -pkeyopt rsa_keygen_bits:2048); leaf_usage=digitalSignature,keyEncipherment ;;
  ec)  keyopts=(-algorithm EC -pkeyopt ec_paramgen_curve:P-256); leaf_usage=digitalSignature ;;
  *)   echo "unknown algorithm: $alg" >&2; exit 2 ;;
esac

mkdir -p "$out"
cd "$out"
umask 077

openssl genpkey "${keyopts[@]}" -out ca.key 2>/dev/null
openssl req -x509 -new -key ca.key -sha256 -days 3650 -subj /CN=etcd-ca \
  -addext basicConstraints=critical,CA:TRUE,pathlen:0 \
  -addext keyUsage=critical,digitalSignature,keyCertSign,cRLSign \
  -out ca.crt

# leaf <file-name> <common-name> <extendedKeyUsage> [subjectAltName]
leaf() {
  local name=$1 cn=$2 eku=$3 sans=${4:-}
  openssl genpkey "${keyopts[@]}" -out "$name.key" 2>/dev/null
  openssl req -new -key "$name.key" -subj "/CN=$cn" -out "$name.csr"
  {
    echo "basicConstraints=critical,CA:FALSE"
    echo "keyUsage=critical,$leaf_usage"
    echo "extendedKeyUsage=$eku"
    echo "subjectKeyIdentifier=hash"
    echo "authorityKeyIdentifier=keyid"
    if [ -n "$sans" ]; then echo "subjectAltName=$sans"; fi
  } > "$name.ext"
  openssl x509 -req -in "$name.csr" -CA ca.crt -CAkey ca.key -sha256 -days 1825 \
    -extfile "$name.ext" -out "$name.crt" 2>/dev/null
}

for i in 1 2 3; do
  sans="IP:10.0.0.1$i,DNS:etcd0$i.example.com,IP:127.0.0.1,DNS:localhost"
  leaf "etcd0$i-server" "etcd0$i" serverAuth,clientAuth "$sans"
  leaf "etcd0$i-peer" "etcd0$i" serverAuth,clientAuth "$sans"
done
leaf admin admin clientAuth
leaf kube-apiserver kube-apiserver clientAuth
