"""Peak memory of analysing one large image: the bounded decode of issue #10.

Usage: ``python bench/image_decode_memory.py``

Writes a 7000x5500 JPEG, a 5000x5000 RGBA PNG, a 4096x4096 RGBA PNG and a 6000x6000 GIF to a
temporary folder, then analyses each in a fresh interpreter and prints the growth of peak RSS
(``VmHWM``, Linux) during ``analyze_image`` alone, with its status and CPU time.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

from PIL import Image, ImageDraw

CASES = {"jpeg": ((7000, 5500), "RGB", "JPEG"), "png5000": ((5000, 5000), "RGBA", "PNG"),
         "png4096": ((4096, 4096), "RGBA", "PNG"), "gif": ((6000, 6000), "RGB", "GIF")}

# VmHWM (Linux), not ru_maxrss: the latter survives exec, so the child would inherit the
# parent's peak from drawing the image.
PROBE = """
import sys, time
from within_daemon.transforms.enrichment.image import analyze_image
def hwm():
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
data = open(sys.argv[1], "rb").read()
base = hwm()
t = time.process_time(); f = analyze_image(data); cpu = time.process_time() - t
print(f"{f.image_status:16} +{(hwm() - base) / 1024:4.0f} MiB peak RSS  {cpu:.2f} s CPU")
"""


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        for name, (size, mode, fmt) in CASES.items():
            img = Image.new(mode, size, (200, 30, 40, 255))
            ImageDraw.Draw(img).rectangle((0, 0, size[0] // 3, size[1]), fill=(10, 200, 30, 128))
            path = Path(tmp) / f"{name}.img"
            img.save(path, fmt)
            del img
            out = subprocess.run([sys.executable, "-c", PROBE, str(path)], check=True,
                                 capture_output=True, text=True).stdout.strip()
            print(f"{name:8} {size[0]}x{size[1]} {fmt:4} ({path.stat().st_size >> 10} KiB): {out}")


if __name__ == "__main__":
    main()
