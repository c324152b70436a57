#!/usr/bin/env bash
# The long history check of issues 22 and 29: clients on three nodes over PostgreSQL (a
# primary with a synchronous standby) and SeaweedFS, checked for linearizability while nodes
# are killed with -9, paused past their lease and the garbage grace, the PostgreSQL primary is
# killed with -9 and its standby promoted, and a volume server is killed. Not part of the suite
# (minutes long). Usage: tests/tools/history-faults.sh [SECONDS] (default 180).
set -euo pipefail
cd "$(dirname "$0")/../.."
bash tests/tools/ensure.sh
PIER_HISTORY_SECS="${1:-180}" cargo test --workspace --locked --test scale \
  histories_on_three_nodes_survive_faults -- --ignored --nocapture
