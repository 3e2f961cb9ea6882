#!/usr/bin/env python3
"""Print the Java classpath (or its directory) of the Apache kafka-clients jar and the
compression/logging jars it needs, as shipped by the `shigawire-apache-flink-libraries`
pip package under pyflink/lib. Run it with the venv's python.

Usage: kafka_jars.py [--dir | --classpath]   (default --classpath)
Exits 1 with a message on stderr when no kafka-clients jar is installed.
"""
import glob
import importlib.util
import os
import sys

# Jars the kafka-clients producer/consumer/admin load at run time: the client itself, the
# compression codecs it calls for lz4/snappy/zstd, and slf4j (its logging facade).
JAR_PATTERNS = ("kafka-clients*.jar", "lz4*.jar", "snappy*.jar", "zstd*.jar", "slf4j-api*.jar")


def lib_dirs():
    spec = importlib.util.find_spec("pyflink")
    roots = list(spec.submodule_search_locations or []) if spec else []
    return [os.path.join(r, "lib") for r in roots]


def main():
    mode = sys.argv[1] if len(sys.argv) > 1 else "--classpath"
    for d in lib_dirs():
        clients = sorted(glob.glob(os.path.join(d, "**", "kafka-clients*.jar"), recursive=True))
        if not clients:
            continue
        if mode == "--dir":
            print(os.path.dirname(clients[-1]))
            return 0
        jars = []
        for pat in JAR_PATTERNS:
            jars.extend(sorted(glob.glob(os.path.join(d, "**", pat), recursive=True)))
        print(os.pathsep.join(dict.fromkeys(jars)))
        return 0
    print("kafka_jars.py: no kafka-clients*.jar under pyflink/lib in %s" % lib_dirs(), file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
