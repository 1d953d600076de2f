#!/usr/bin/env python3
"""Include-layer check: every #include "module/..." under src/ must point at a lower layer.

The layer order is read from docs/ARCHITECTURE.md, section "## Layer order": one numbered line per
layer, lowest first,

    1. core, kernel: what they own
    2. process: ...

and optional lines `allow: from -> to` in that section for the rare include between two modules of
the same layer. A module (a directory under src/) may include its own headers and those of modules
in lower layers. The check fails (exit 1, naming file, line and the two modules) on an include of
the same layer (unless allowed) or a higher one, and on a module missing from the list.

Usage: scripts/check-layers.py [--root DIR] [--arch FILE] [--graph]
  --root   the tree to check (its src/ is read; default: this script's repository)
  --arch   the file holding the layer list (default: ROOT/docs/ARCHITECTURE.md)
  --graph  also print the module include graph (module -> modules it includes)
Python 3 standard library only.
"""

import argparse
import os
import re
import sys

SOURCE_SUFFIXES = (".h", ".hh", ".hpp", ".c", ".cc", ".cpp", ".inc")
INCLUDE_RE = re.compile(r'^\s*#\s*include\s*"([^"]+)"')
LAYER_RE = re.compile(r"^\s*(\d+)\.\s+([A-Za-z0-9_]+(?:\s*,\s*[A-Za-z0-9_]+)*)\s*:")
ALLOW_RE = re.compile(r"^\s*[-*]?\s*`?allow:\s*([A-Za-z0-9_]+)\s*->\s*([A-Za-z0-9_]+)`?")


def read_layers(arch_path):
    """Returns ({module: layer}, {(from, to)} allowed same-layer includes, [errors])."""
    errors = []
    try:
        with open(arch_path, encoding="utf-8") as f:
            lines = f.read().splitlines()
    except OSError as e:
        return {}, set(), [f"{arch_path}: cannot read: {e.strerror}"]
    layers, allowed, in_section, seen_section = {}, set(), False, False
    last_number = 0
    for n, line in enumerate(lines, 1):
        if line.startswith("## "):
            in_section = line.strip().lower() == "## layer order"
            seen_section = seen_section or in_section
            continue
        if not in_section:
            continue
        m = LAYER_RE.match(line)
        if m:
            number = int(m.group(1))
            if number <= last_number:
                errors.append(f"{arch_path}:{n}: layer {number} after layer {last_number} (list them lowest first)")
            last_number = number
            for module in (x.strip() for x in m.group(2).split(",")):
                if module in layers:
                    errors.append(f"{arch_path}:{n}: module '{module}' listed twice")
                layers[module] = number
            continue
        m = ALLOW_RE.match(line)
        if m:
            allowed.add((m.group(1), m.group(2)))
    if not seen_section:
        errors.append(f"{arch_path}: no '## Layer order' section")
    elif not layers:
        errors.append(f"{arch_path}: the '## Layer order' section lists no layer ('N. module, module: what')")
    for a, b in sorted(allowed):
        if a not in layers or b not in layers or layers[a] != layers[b]:
            errors.append(f"{arch_path}: 'allow: {a} -> {b}' names modules that are not in one layer")
    return layers, allowed, errors


def source_files(src):
    for dirpath, dirnames, filenames in os.walk(src):
        dirnames.sort()
        for name in sorted(filenames):
            if name.endswith(SOURCE_SUFFIXES):
                yield os.path.join(dirpath, name)


def module_of(path, src):
    """The module (first directory under src/) a path belongs to, or None when outside a module."""
    rel = os.path.relpath(path, src)
    parts = rel.split(os.sep)
    if len(parts) < 2 or parts[0] == "..":
        return None
    return parts[0]


def included_module(include, including_file, src):
    """The module an #include "..." names, resolved as the compiler does (including file's directory
    first, then src/); None when it is not a header of the tree (generated, system, ...)."""
    local = os.path.normpath(os.path.join(os.path.dirname(including_file), include))
    if os.path.exists(local):
        return module_of(local, src)
    first = include.split("/", 1)[0]
    if "/" in include and os.path.isdir(os.path.join(src, first)):
        return first
    return None


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", default=os.path.dirname(here))
    parser.add_argument("--arch", default=None)
    parser.add_argument("--graph", action="store_true")
    args = parser.parse_args()
    root = os.path.abspath(args.root)
    src = os.path.join(root, "src")
    arch = args.arch or os.path.join(root, "docs", "ARCHITECTURE.md")

    layers, allowed, errors = read_layers(arch)
    if not os.path.isdir(src):
        errors.append(f"{src}: no such directory")
    graph = {}
    modules = sorted(d for d in os.listdir(src) if os.path.isdir(os.path.join(src, d))) if os.path.isdir(src) else []
    for module in modules:
        if module not in layers:
            errors.append(f"src/{module}: module missing from the layer list in {os.path.relpath(arch, root)}")
    for path in source_files(src):
        rel = os.path.relpath(path, root)
        src_module = module_of(path, src)
        if src_module is None:
            continue
        with open(path, encoding="utf-8", errors="replace") as f:
            for n, line in enumerate(f, 1):
                m = INCLUDE_RE.match(line)
                if not m:
                    continue
                dst_module = included_module(m.group(1), path, src)
                if dst_module is None or dst_module == src_module:
                    continue
                graph.setdefault(src_module, set()).add(dst_module)
                if src_module not in layers or dst_module not in layers:
                    continue  # reported above as missing
                a, b = layers[src_module], layers[dst_module]
                if b < a or (b == a and (src_module, dst_module) in allowed):
                    continue
                where = "the same layer" if a == b else "a higher layer"
                errors.append(f"{rel}:{n}: {src_module} (layer {a}) includes \"{m.group(1)}\" of {dst_module} "
                              f"({where}, layer {b}): a module may include only modules below it")

    if args.graph:
        for module in sorted(graph, key=lambda x: (layers.get(x, 1 << 30), x)):
            print(f"{module} -> {' '.join(sorted(graph[module]))}")
    for line in errors:
        print(f"error: {line}", file=sys.stderr)
    if errors:
        print(f"check-layers: {len(errors)} error(s)", file=sys.stderr)
        return 1
    print(f"check-layers: {len(layers)} modules in {len(set(layers.values()))} layers, includes follow the order")
    return 0


if __name__ == "__main__":
    sys.exit(main())
