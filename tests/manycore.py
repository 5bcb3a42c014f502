# SPDX-License-Identifier: MIT
"""Many-core hosts in a container's /dev/shm, from the outside: hosts of 256
CPUs simulated on this machine (shmetrics demo --cpus, feed with
SHMETRICS_SIM_CPUS), in a 64 MB tmpfs this test mounts (as root; skipped with
its reason otherwise), as Docker gives a container by default.

- 4 demo workers run vLLM's workload for 30 s while the collector is scraped
  every 100 ms: no worker dies, every counter is exact, the tmpfs stays under
  half full.
- 100 scrapes and a dump of an arena written from many CPUs allocate no page
  of it (st_blocks unchanged).
- The tmpfs filled by another file until registrations fail: each failure is
  an error in the worker and counted in shmetrics_arena_filesystem_full_total,
  the workers keep running, and nothing already counted is lost.
- An arena of an older layout is refused with a message that says so.

Run by Debian's python3 with SHMETRICS_CLI and SHMETRICS_FEED set."""
import os
import re
import shutil
import subprocess
import tempfile
import threading
import time
import urllib.request

from push_common import free_port, stop_proc, wait_for
from tap import check, summary

CLI = os.environ["SHMETRICS_CLI"]
FEED = os.environ["SHMETRICS_FEED"]
MIB = 1 << 20


def fs_used(path):
    st = os.statvfs(path)
    return (st.f_blocks - st.f_bfree) * st.f_frsize


def fs_free(path):
    st = os.statvfs(path)
    return st.f_bavail * st.f_frsize


def blocks(path):
    return os.stat(path).st_blocks


def get(port, path="/metrics", timeout=10):
    with urllib.request.urlopen("http://127.0.0.1:%d%s" % (port, path), timeout=timeout) as r:
        return r.read().decode()


def samples(text, name):
    """{labels string: value} of the samples called `name` in Prometheus text."""
    out = {}
    for line in text.splitlines():
        m = re.match(r"^%s(\{[^}]*\})? (\S+)$" % re.escape(name), line)
        if m:
            out[m.group(1) or ""] = float(m.group(2))
    return out


def serve(arena):
    port = free_port()
    p = subprocess.Popen([CLI, "serve", "--arena", arena, "--listen", "127.0.0.1:%d" % port],
                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)

    def up():
        try:
            return get(port, "/healthz", 1) is not None
        except OSError:
            return False
    check(wait_for(up, 20), "serve %s is up" % os.path.basename(arena))
    return p, port


def demo_in_small_shm(mnt):
    """vLLM's workload from 4 workers on a simulated 256-CPU host."""
    port = free_port()
    arena = mnt + "/demo"
    p = subprocess.Popen([CLI, "demo", "--workers", "4", "--duration", "30", "--cpus", "256", "--rate", "20",
                          "--listen", "127.0.0.1:%d" % port, "--arena", arena],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    stats = {"ok": 0, "failed_then_ok": 0, "pending": 0, "max_used": 0, "slowest": 0.0}
    # Failures count between answered scrapes only: before the collector is
    # up and after it stopped, a refused connection is expected.

    def scrape():
        while p.poll() is None:
            t0 = time.monotonic()
            try:
                get(port)
                stats["ok"] += 1
                stats["failed_then_ok"] += stats["pending"]
                stats["pending"] = 0
                stats["slowest"] = max(stats["slowest"], time.monotonic() - t0)
            except OSError:
                if stats["ok"]:
                    stats["pending"] += 1  # an error counts only if a later scrape worked
            stats["max_used"] = max(stats["max_used"], fs_used(mnt))
            time.sleep(0.1)

    t = threading.Thread(target=scrape)
    t.start()
    try:
        out, err = p.communicate(timeout=120)
    except subprocess.TimeoutExpired:
        stop_proc(p)
        out, err = p.communicate()
    t.join()
    check(p.returncode == 0, "demo, 4 workers, 256 simulated CPUs, 30 s in a 64 MB tmpfs: exit 0, no worker died",
          "exit %s: %s" % (p.returncode, err[-2000:]))
    m = re.search(r"shmetrics demo: (\w+): the workers counted (\d+) requests, (\d+) prompt tokens and (\d+) "
                  r"generation tokens; the arena holds (\d+), (\d+) and (\d+) \((\d+) of (\d+) workers reported\)",
                  out)
    check(m is not None and m.group(1) == "exact" and m.group(2, 3, 4) == m.group(5, 6, 7)
          and m.group(8) == m.group(9) == "4",
          "every counter exact: the arena holds what the 4 workers counted",
          m.group(0) if m else out[-2000:])
    check(m is not None and int(m.group(2)) > 1000, "the workers served requests (%s)" % (m.group(2) if m else "?"))
    check(stats["ok"] >= 150 and stats["failed_then_ok"] == 0,
          "scraped every 100 ms: %d scrapes answered, none failed, slowest %.3f s"
          % (stats["ok"], stats["slowest"]), str(stats))
    check(stats["max_used"] < 32 * MIB, "the tmpfs stayed under half full: at most %.1f MiB of 64 used"
          % (stats["max_used"] / MIB))
    print("# demo in 64 MB: %s" % stats, flush=True)


def reads_allocate_nothing(mnt):
    """Scrapes of an arena written from many CPUs never fault a hole in."""
    arena = mnt + "/static"
    r = subprocess.run([CLI, "create", "--arena", arena, "--shards", "256"], capture_output=True, text=True)
    check(r.returncode == 0, "create --shards 256 in the tmpfs", r.stderr)
    for cpus, procs in (("2", "2"), ("256", "2")):
        env = dict(os.environ, SHMETRICS_SIM_CPUS=cpus)
        r = subprocess.run([FEED, arena, procs, "2000"], env=env, capture_output=True, text=True, timeout=120)
        check(r.returncode == 0, "feed 2 processes x 2000 series from %s simulated CPUs" % cpus, r.stderr)
    before = blocks(arena)
    srv, port = serve(arena)
    bodies = [get(port) for _ in range(100)]
    stop_proc(srv)
    r = subprocess.run([CLI, "dump", "--arena", arena], capture_output=True, text=True)
    after = blocks(arena)
    check(before == after, "st_blocks equal before and after 100 scrapes and a dump at 256 shards (%d)" % before,
          "after: %d" % after)
    series = samples(bodies[-1], "feed_series_total")
    # Each of the 2 runs of 2 processes added I + 1 to series (proc P, idx I).
    want = {'{proc="%d",idx="%d"}' % (p, i): 2.0 * (i + 1) for p in range(2) for i in range(2000)}
    check(series == want, "the last scrape holds every series exactly (4000 series, each written twice)",
          "%d series" % len(series))
    check(samples(r.stdout, "feed_series_total") == want, "so does the dump")


def filled_filesystem(mnt):
    """Another file fills the tmpfs until registrations fail."""
    arena = mnt + "/grow"
    r = subprocess.run([CLI, "create", "--arena", arena, "--shards", "256"], capture_output=True, text=True)
    check(r.returncode == 0, "create an arena for the grow feed", r.stderr)
    srv, port = serve(arena)
    env = dict(os.environ, SHMETRICS_SIM_CPUS="256")
    # The workers' own series exist before the filesystem fills (one loop).
    r = subprocess.run([FEED, arena, "4", "grow", "0"], env=env, capture_output=True, text=True, timeout=60)
    check(r.returncode == 0, "4 grow workers register their series", r.stderr)
    filler = mnt + "/filler"
    room = fs_free(mnt) - 256 * 1024  # leaves 64 pages
    with open(filler, "wb") as f:
        chunk = b"\0" * MIB
        while room > 0:
            n = min(room, len(chunk))
            f.write(chunk[:n])
            room -= n
    r = subprocess.run([FEED, arena, "4", "grow", "4"], env=env, capture_output=True, text=True, timeout=120)
    check(r.returncode == 0, "4 grow workers on a filling tmpfs: exit 0, none died (no SIGBUS)",
          "exit %d: %s" % (r.returncode, r.stderr))
    rows = [line.split(" ", 4) for line in r.stdout.splitlines()]
    check(len(rows) == 4, "every worker reported", r.stdout)
    failed = sum(int(row[3]) for row in rows)
    check(all(int(row[3]) > 0 for row in rows), "every worker saw registrations fail (%d in all)" % failed)
    check(all("the filesystem holding %s is full" % arena in row[4] and "are free" in row[4] for row in rows),
          "each failure is an error naming the filesystem and what it needs", rows[0][4] if rows else "")
    body = get(port)
    work = samples(body, "feed_work_total")
    check(work == {'{proc="%s"}' % row[0]: float(row[1]) + 1 for row in rows},
          "every loop counted before and after the filesystem filled is there, exactly", str(work))
    grown = samples(body, "feed_grown_total")
    check(len(grown) == sum(int(row[2]) for row in rows) and set(grown.values()) == {1.0},
          "every series registered before the filesystem filled is there (%d), each at 1" % len(grown))
    full = samples(body, "shmetrics_arena_filesystem_full_total")
    check(full.get("", 0) >= 1, "the collector counts the refusals: shmetrics_arena_filesystem_full_total %s"
          % full.get(""))
    os.unlink(filler)
    r = subprocess.run([CLI, "inc", "--arena", arena, "after_total"], capture_output=True, text=True)
    check(r.returncode == 0, "once there is room again, a registration works", r.stderr)
    stop_proc(srv)


def older_layout_refused(tmp):
    arena = tmp + "/old"
    subprocess.run([CLI, "create", "--arena", arena, "--series", "8", "--families", "4"], check=True,
                   capture_output=True)
    with open(arena, "r+b") as f:
        f.seek(8)
        f.write((2).to_bytes(4, "little"))
    r = subprocess.run([CLI, "dump", "--arena", arena], capture_output=True, text=True)
    check(r.returncode == 1 and "arena layout version 2 was made by an older shmetrics" in r.stderr
          and "remove the file (rm, or the older release's shmetrics reset --unlink)" in r.stderr, "an arena of layout 2 is refused, saying what to do", r.stderr)
    r = subprocess.run([CLI, "inc", "--arena", arena, "x_total"], capture_output=True, text=True)
    check(r.returncode == 1 and "made by an older shmetrics" in r.stderr, "by a writer too", r.stderr)


def main():
    tmp = tempfile.mkdtemp(prefix="shmetrics-manycore-")
    mnt = tmp + "/shm"
    os.mkdir(mnt)
    try:
        older_layout_refused(tmp)
        if os.geteuid() != 0 or subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64m", "tmpfs", mnt],
                                               capture_output=True).returncode != 0:
            print("# skip: mounting a 64 MB tmpfs needs root; the many-core checks in it did not run", flush=True)
            return summary()
        try:
            demo_in_small_shm(mnt)
            for f in os.listdir(mnt):
                os.unlink(os.path.join(mnt, f))
            reads_allocate_nothing(mnt)
            for f in os.listdir(mnt):
                os.unlink(os.path.join(mnt, f))
            filled_filesystem(mnt)
        finally:
            subprocess.run(["umount", "-l", mnt], capture_output=True)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return summary()


if __name__ == "__main__":
    raise SystemExit(main())
