#!/usr/bin/env python3
"""Raw durable-append rate of a disk, the baseline for Dynacore's WAL.

Appends 4 KiB blocks with O_DIRECT pwrite + fdatasync (one sync per write,
what a WAL without group commit would do) for SECONDS, into a file that is
either zero-filled and synced first ("zeroed": syncs carry data only) or
only posix_fallocate'd ("fallocated": ext4 unwritten extents, every sync
also commits extent metadata). Prints one JSON line.

  rawsync.py DIR {zeroed|fallocated} [SECONDS=3]
"""
import json, mmap, os, sys, time

BLOCK = 4096
FILE_BYTES = 64 << 20

def main():
    d, mode = sys.argv[1], sys.argv[2]
    secs = float(sys.argv[3]) if len(sys.argv) > 3 else 3.0
    path = os.path.join(d, f"rawsync-{mode}.dat")
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_DIRECT, 0o644)
    buf = mmap.mmap(-1, 1 << 20)  # page-aligned, as O_DIRECT needs
    if mode == "zeroed":
        for off in range(0, FILE_BYTES, 1 << 20):
            os.pwrite(fd, buf, off)
    else:
        os.posix_fallocate(fd, 0, FILE_BYTES)
    os.fsync(fd)
    dfd = os.open(d, os.O_RDONLY)
    os.fsync(dfd)
    os.close(dfd)
    block = mmap.mmap(-1, BLOCK)
    block.write(b"x" * BLOCK)
    lat = []
    off = 0
    end = time.perf_counter() + secs
    while time.perf_counter() < end and off + BLOCK <= FILE_BYTES:
        t0 = time.perf_counter()
        os.pwrite(fd, block, off)
        os.fdatasync(fd)
        lat.append(time.perf_counter() - t0)
        off += BLOCK
    os.close(fd)
    os.unlink(path)
    lat.sort()
    q = lambda p: lat[min(len(lat) - 1, int(p * len(lat)))] * 1e6
    total = sum(lat)
    print(json.dumps({"mode": mode, "syncs": len(lat), "syncs_per_s": len(lat) / total,
                      "p50_us": q(0.50), "p99_us": q(0.99), "p999_us": q(0.999),
                      "max_us": lat[-1] * 1e6 if lat else 0}))

if __name__ == "__main__":
    main()
