"""Starts the official MLPerf Tiny runner (``benchmark/runner/main.py``), unmodified, in this process.

Run as a script by :mod:`tinyflash.submit.runner` with the runner's own command line after ``--``.
For an emulated board it first adds one serial port to pyserial's port list: the pty of tinyflash's
UART bridge, with the USB VID:PID of the device list tinyflash wrote. The runner finds DUTs only by
VID:PID in that list (spec §3.2, there is no port option), and a pty has none. Nothing else is
changed; the runner's files are read from the checkout as they are.

This file imports nothing from tinyflash: it runs in the runner's interpreter with the runner's
folder first on sys.path, as ``python main.py`` would.
"""

import argparse
import os
import runpy
import sys


def _add_port(device: str, vid: int, pid: int) -> None:
    from serial.tools import list_ports, list_ports_common

    original = list_ports.comports

    def comports(include_links: bool = False):   # the runner calls comports(True)
        ports = list(original(include_links))
        info = list_ports_common.ListPortInfo(device, skip_link_detection=True)
        info.vid, info.pid = vid, pid
        info.description = "tinyflash emulated UART"
        info.hwid = f"USB VID:PID={vid:04X}:{pid:04X}"
        return ports + [info]

    list_ports.comports = comports


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runner-dir", required=True)
    parser.add_argument("--emulated-port", help="pty path to list as a USB serial port")
    parser.add_argument("--vid", type=lambda s: int(s, 0), default=0)
    parser.add_argument("--pid", type=lambda s: int(s, 0), default=0)
    args, rest = parser.parse_known_args()
    if rest and rest[0] == "--":
        rest = rest[1:]
    if args.emulated_port:
        _add_port(args.emulated_port, args.vid, args.pid)
    main_py = os.path.join(args.runner_dir, "main.py")
    sys.path.insert(0, args.runner_dir)
    sys.argv = [main_py] + rest
    runpy.run_path(main_py, run_name="__main__")


if __name__ == "__main__":
    main()
