#!/usr/bin/env python3
"""Prints the stack of the thread that crashed a .NET process, from the runtime's crash report (DOTNET_EnableCrashReport).

A test host killed by a native fault (SIGSEGV, or SIGABRT from libc's heap checks) leaves no managed exception; the
crash report is then the only record of where it happened, and CI keeps nothing but its log. With --every-thread
(a hung host the test command aborted) every thread that runs managed code is printed: what each was waiting for."""
import json
import sys


def frame_line(frame):
    if frame.get("is_managed") == "true":
        name = frame.get("method_name") or "(managed frame without a name, e.g. an interop stub)"
        where = frame.get("filename", "")
        return f"  managed  {where} {name} +{frame.get('il_offset', '?')}"
    name = frame.get("unmanaged_name") or frame.get("native_image_offset", "?")
    return f"  native   {frame.get('native_module', '?')} {name}"


def main(path, every_thread):
    with open(path, encoding="utf-8") as file:
        report = json.load(file)
    payload = report.get("payload", {})
    threads = payload.get("threads", [])
    print(f"Crash report {path}: process {payload.get('process_name', '?')}, {len(threads)} threads")
    for thread in threads:
        frames = thread.get("stack_frames", [])
        if every_thread:
            # Idle runtime threads (no managed frame) say nothing about a hang.
            if not any(frame.get("is_managed") == "true" for frame in frames):
                continue
            print(f" thread {thread.get('native_thread_id', '?')}")
            shown = frames[:25]
        elif thread.get("crashed") != "true":
            continue
        else:
            exception = thread.get("managed_exception_type")
            print(f" crashed thread {thread.get('native_thread_id', '?')}" + (f", exception {exception}" if exception else ""))
            shown = frames[:60]
        for frame in shown:
            print(frame_line(frame))


if __name__ == "__main__":
    every_thread = "--every-thread" in sys.argv[1:]
    for argument in (a for a in sys.argv[1:] if a != "--every-thread"):
        try:
            main(argument, every_thread)
        except (OSError, ValueError) as error:
            print(f"Crash report {argument} could not be read: {error}")
