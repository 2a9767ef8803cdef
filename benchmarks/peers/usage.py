"""Process measurements shared by every benchmark script and peer adapter (stdlib only: it runs in the peers'
virtual environments too, found because each adapter's own folder is first on sys.path)."""
import resource


def cpu() -> float:
    """CPU seconds (user + sys, all threads) of this process so far."""
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def peak_rss_kb() -> int:
    """This process's own peak RSS (VmHWM; ru_maxrss would carry the parent's peak across fork+exec)."""
    with open("/proc/self/status") as f:
        return int(next(line for line in f if line.startswith("VmHWM:")).split()[1])
