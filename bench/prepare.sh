# Sourced by the benchmark scripts: installs what the build needs, builds
# Norc (RelWithDebInfo), and starts a private MariaDB under build/NAME,
# stopped when the script exits. Sets root and dsn.
#   . bench/prepare.sh NAME      (NORC_MARIADB_BUFFER_POOL sets its buffer pool)
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
scripts/install-deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j "$(nproc)" >/dev/null
bench_db="$root/build/$1"
dsn=$(scripts/mariadb-private.sh start "$bench_db")
trap 'scripts/mariadb-private.sh stop "$bench_db"' EXIT
