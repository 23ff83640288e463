#!/usr/bin/python3
"""Feeds hostile strings through the renderers' quoting and checks that
independent parsers (tomllib, PyYAML) read back exactly the same bytes."""
import random
import re
import subprocess
import sys
import tomllib

import yaml

tool = sys.argv[1]

HOSTILE = [
    "", "plain", 'quote"inside', "back\\slash", "new\nline", "cr\rlf\r\n",
    "tab\there", "]", "a=b=c", "[x]", "#not a comment", "'single'", '"""',
    "''' triple", "\x01\x02\x1f\x7f", "\x1b[31mred", "é ü 漢字 🙂", "\u0085nel",
    "\u2028ls\u2029ps", "\ufeffbom", "\u00a0nbsp", "\ud7ff\ue000\ufffd",
    "key: value", "- item", "&anchor *alias !tag", "%YAML", "---", "...",
    "   leading and trailing   ", "\\u0041 not an escape", "\\n literal",
    "@at `tick` |pipe >fold", "{flow: map}", "null", "true", "~", "0x10", "1e5",
]

ALPHABET = ["a", "=", "]", "[", '"', "'", "\\", "\n", "\r", "\t", " ", "#",
            ":", "-", "\x01", "\x08", "\x0c", "\x1f", "\x7f", "\x80", "\x85",
            "\x9f", "\xa0", "é", "\u2028", "\u2029", "\ufeff", "\ufffe",
            "\uffff", "漢", "🙂", "\U0010ffff", "\ud7ff", "\ue000"]


def run(mode, text):
    out = subprocess.run([tool, mode], input=text.encode(), capture_output=True, check=True)
    return out.stdout.decode()


def unescape_env(line):
    def sub(m):
        s = m.group(0)
        return {"\\\\": "\\", "\\n": "\n", "\\t": "\t", "\\r": "\r"}.get(s) or chr(int(s[2:], 16))
    return re.sub(r"\\\\|\\n|\\t|\\r|\\x[0-9A-F]{2}", sub, line)


def check(text):
    got = tomllib.loads(run("toml", text))["v"]
    assert got == text, f"toml: {text!r} came back as {got!r}"
    got = yaml.safe_load(run("yaml", text))["v"]
    assert got == text, f"yaml: {text!r} came back as {got!r}"
    env = run("env", text)
    assert env.count("\n") == 1 and env.endswith("\n"), f"env: {text!r} spans lines: {env!r}"
    got = unescape_env(env[:-1])
    assert got == text, f"env: {text!r} came back as {got!r}"


def main():
    rng = random.Random(20261125)
    cases = list(HOSTILE)
    for _ in range(300):
        cases.append("".join(rng.choice(ALPHABET) for _ in range(rng.randint(1, 24))))
    for text in cases:
        check(text)
    print(f"ok: {len(cases)} strings round-trip through toml, yaml and env quoting")


main()
