#!/usr/bin/env bash
# Two hosts made as network namespaces on this machine (a veth pair, addresses that exist only inside them, no
# default route, a hostname each), Open MPI's TCP transport between them, mpirun --host through launch/tal-mpirun
# with a launch agent that enters the other namespace (as ssh would log in to the other host):
#   1. tal train on 2 ranks across the two hosts gives the same bytes as 2 ranks on one host;
#   2. a rank killed on the far host ends the job within 60 s, naming the rank and its host;
#   3. the far host's link taken down mid-run ends the job within 60 s, naming the lost rank and its host.
# Skips (77) with a reason where namespaces cannot be made. Removes its namespaces whatever happens.
# Usage: multihost_test.sh path/to/tal
set -u
tal=${1:?usage: multihost_test.sh path/to/tal}
src=${TAL_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
py=/usr/bin/python3
work=$(mktemp -d)
source "$src/tests/e2e/harness.sh"

[ "$(id -u)" -eq 0 ] || { rm -rf "$work"; skip "needs root (ip netns)"; }
command -v ip >/dev/null 2>&1 || { rm -rf "$work"; skip "no ip command (iproute2)"; }
command -v unshare >/dev/null 2>&1 || { rm -rf "$work"; skip "no unshare (util-linux)"; }

# ---- the two hosts -----------------------------------------------------------------------------------------------
id=$$
ns1=talh1-$id ns2=talh2-$id v1=tv1-$id v2=tv2-$id
net=10.231.$((id % 200 + 20))
ip1=$net.1 ip2=$net.2
teardown() {
  for n in "$ns1" "$ns2"; do ip netns pids "$n" 2>/dev/null | xargs -r kill -KILL 2>/dev/null; done
  sleep 0.2
  ip netns del "$ns1" 2>/dev/null
  ip netns del "$ns2" 2>/dev/null
  pkill -KILL -f "$work" 2>/dev/null
  rm -rf "$work"
}
trap teardown EXIT
if ! ip netns add "$ns1" 2>"$work/netns.err"; then skip "ip netns add failed: $(head -n 1 "$work/netns.err")"; fi
ip netns add "$ns2" && ip link add "$v1" type veth peer name "$v2" &&
  ip link set "$v1" netns "$ns1" && ip link set "$v2" netns "$ns2" &&
  ip -n "$ns1" addr add "$ip1/24" dev "$v1" && ip -n "$ns2" addr add "$ip2/24" dev "$v2" &&
  ip -n "$ns1" link set lo up && ip -n "$ns2" link set lo up &&
  ip -n "$ns1" link set "$v1" up && ip -n "$ns2" link set "$v2" up ||
  { echo "FAIL: could not build the two namespaces"; exit 1; }
# The launch agent Open MPI calls like ssh: "agent [options] HOST COMMAND...", the command as one shell line.
agent=$work/netns-agent
cat >"$agent" <<AGENT
#!/bin/sh
while [ \$# -gt 0 ]; do case "\$1" in -o|-p|-l|-i) shift 2 ;; -*) shift ;; *) break ;; esac; done
host=\$1; shift
case "\$host" in $ip1|h1) ns=$ns1; name=h1 ;; $ip2|h2) ns=$ns2; name=h2 ;; *) echo "netns-agent: unknown host '\$host'" >&2; exit 255 ;; esac
exec ip netns exec "\$ns" unshare --uts /bin/sh -c 'hostname "\$1"; shift; exec /bin/sh -c "\$*"' sh "\$name" "\$*"
AGENT
chmod +x "$agent"
# on_h1 CMD...: runs CMD on "host" h1 (its namespace and hostname), where mpirun starts.
on_h1() { ip netns exec "$ns1" unshare --uts /bin/sh -c 'hostname h1; exec "$@"' sh "$@"; }
ip netns exec "$ns1" ip route | grep -q default && { echo "FAIL: namespace $ns1 has a default route"; exit 1; }
check "the hosts' addresses exist only inside their namespaces" bash -c "! ip -o addr | grep -qE ' ($ip1|$ip2)/'"

# ---- the runs ----------------------------------------------------------------------------------------------------
tiny_pipeline "$work"
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 TAL_BINARY=$tal
across=(env TAL_MPIRUN_FLAGS="--mca plm_rsh_agent $agent --mca btl tcp,self --mca btl_tcp_if_include $net.0/24 --mca oob_tcp_if_include $net.0/24"
        timeout -k 5 300 "$src/launch/tal-mpirun" -n 2 --host h1,h2 --bind none)
ckpt() { echo "$work/$1/ckpt/$(head -n1 "$work/$1/ckpt/latest" 2>/dev/null)"; }

# 1. The same bytes across two hosts as on one.
timeout -k 5 300 "$src/launch/tal-mpirun" -n 2 --bind none train "${small[@]}" run.dir="$work/one" train.steps=6 \
  >"$work/one.log" 2>&1
check "2 ranks on one host train" grep -q "train  done: 6 steps" "$work/one.log"
t0=$(now)
on_h1 "${across[@]}" train "${small[@]}" run.dir="$work/two" train.steps=6 >"$work/two.log" 2>&1
echo "timing: 2 ranks across 2 hosts, 6 steps, in $(since "$t0") s"
check "2 ranks across two hosts train" grep -q "train  done: 6 steps" "$work/two.log"
check "the ranks are on two hosts" grep -q "ranks  2 ranks on 2 hosts: h1 \[0\], h2 \[1\]" "$work/two.log"
check "two hosts == one host (bytes)" $py "$src/tests/e2e/compare_checkpoints.py" "$(ckpt one)" "$(ckpt two)" 0

# start_across RUN: a long 2-host run in the background (pid in $job), waited on until it reaches step 3.
start_across() {
  on_h1 "${across[@]}" train "${small[@]}" run.dir="$work/$1" train.steps=1000 "${@:2}" >"$work/$1.log" 2>&1 &
  job=$!
  wait_for 180 "$work/$1.log" "^step 3/" "run $1 to reach step 3"
}
far_rank() {  # pids of tal ranks running on h2
  for p in $(ip netns pids "$ns2"); do
    [ "$(tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null | cut -d' ' -f1-2)" = "$tal train" ] && echo "$p"
  done
}

# 2. A rank killed on h2.
start_across kill
t0=$(date +%s)
victims=$(far_rank)
check "found the rank on h2" test -n "$victims"
kill -KILL $victims 2>/dev/null
wait $job; rc=$?
elapsed=$(( $(date +%s) - t0 ))
echo "timing: killed rank on h2 -> job ended (code $rc) in $elapsed s"
check "killed far rank ends the job non-zero" test $rc -ne 0
check "killed far rank ends the job within 60 s ($elapsed s)" test $elapsed -lt 60
check "mpirun names the killed rank and its host" grep -q "process rank 1 .* on node h2 exited on signal 9" "$work/kill.log"

# 3. h2's link taken down, with the default watchdog (300 s): rank 0 hears no heartbeat from rank 1 and names it
#    after 10 s, whatever the ranks were doing, and Open MPI's TCP keepalive (launch/tal-mpirun's default: about
#    20 s) ends the job.
start_across link
t0=$(date +%s)
ip -n "$ns2" link set "$v2" down
wait $job; rc=$?
elapsed=$(( $(date +%s) - t0 ))
echo "timing: h2's link down -> job ended (code $rc) in $elapsed s"
check "lost host ends the job non-zero" test $rc -ne 0 -a $rc -ne 124
check "lost host ends the job within 60 s ($elapsed s)" test $elapsed -lt 60
check "the lost rank and its host are named" grep -q "rank 1 (on h2) silent for 10 s" "$work/link.log"
check "Open MPI says it lost the host" grep -q "lost communication with a remote daemon" "$work/link.log"

for r in kill link; do echo "--- $r:"; grep -E "error|warning|rank|node|lost|ORTE" "$work/$r.log" | grep -v "^step" | head -n 12; done
finish
