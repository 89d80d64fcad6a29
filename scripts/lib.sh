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
