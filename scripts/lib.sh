# Shared by the scripts here (source it after defining fail): the port probe each of them runs before starting
# Azurite and silos, so a second run never binds beside another cluster.

# True when something accepts connections on 127.0.0.1:PORT.
listening() { (exec 3<> "/dev/tcp/127.0.0.1/$1") 2> /dev/null; }

# check_ports_of HINT PORT...: fails (the caller's fail) at the first port taken, saying which and what to set (HINT).
check_ports_of() {
  local hint=$1; shift
  for port in "$@"; do
    listening "$port" && fail "port $port on 127.0.0.1 is taken (another Azurite or cluster running?); stop what holds it (ss -ltnp 'sport = :$port' shows which process), or $hint"
  done
  return 0
}

# cluster_pki DIR CONTAINERS: mutual TLS and tokens for a throwaway cluster (docs/security.md), after the build. Makes
# in DIR a CA, a silo and a client certificate (Debian's openssl) and a token signing key; exports the client's side
# (Tls__Certificate, Tls__Key, Tls__Ca and an admin token for CONTAINERS in Security__Token) for every dpiqa run, and
# sets SILO_SECURITY, the settings a silo adds with: env "${SILO_SECURITY[@]}" dotnet Silo/...
cluster_pki() {
  local dir=$1 containers=$2 node
  command -v openssl > /dev/null || fail "openssl is needed for the cluster's throwaway certificates (sudo apt-get install openssl)"
  mkdir -p "$dir"
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj "/CN=dpiqa throwaway CA" \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" \
    -keyout "$dir/ca.key" -out "$dir/ca.crt" 2> /dev/null || fail "openssl could not make the CA in $dir"
  for node in silo client; do
    openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=dpiqa-$node" \
      -keyout "$dir/$node.key" -out "$dir/$node.csr" 2> /dev/null || fail "openssl could not make the $node key"
    printf 'basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth,clientAuth\n' > "$dir/$node.ext"
    openssl x509 -req -in "$dir/$node.csr" -CA "$dir/ca.crt" -CAkey "$dir/ca.key" -CAcreateserial -days 2 \
      -extfile "$dir/$node.ext" -out "$dir/$node.crt" 2> /dev/null || fail "openssl could not sign the $node certificate"
  done
  openssl rand -base64 32 > "$dir/signing.key"
  chmod 600 "$dir"/*.key
  SILO_SECURITY=(Tls__Certificate="$dir/silo.crt" Tls__Key="$dir/silo.key" Tls__Ca="$dir/ca.crt"
    Security__SigningKeyFile="$dir/signing.key" Security__ReadContainers="$containers" Security__WriteContainers="$containers")
  export Tls__Certificate="$dir/client.crt" Tls__Key="$dir/client.key" Tls__Ca="$dir/ca.crt"
  Security__Token=$(Security__SigningKeyFile="$dir/signing.key" dotnet Client/bin/Release/net10.0/dpiqa.dll token create \
    --name "${USER:-$(id -un)}" --role admin --containers "$containers" --expires 1d 2> /dev/null) || fail "dpiqa token create failed"
  export Security__Token
}
