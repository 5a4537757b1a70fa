"""Assembles the tokenizer conformance corpus from text files already on the build machine.

Run once with python3; the outputs are committed. Each output is UTF-8 with its original line endings.
"""
import re, glob, os

PY = '/root/.pyenv/versions/3.13.0'
T = PY + '/lib/python3.13/test/'

def lines(path, start=0, count=None, keep_ends=True):
    with open(path, encoding='utf-8', newline='') as f:
        ls = f.read().splitlines(keepends=keep_ends)
    return ls[start:start + count if count else None]

def write(name, ls):
    with open(name, 'w', encoding='utf-8', newline='') as f:
        f.write(''.join(l if l.endswith('\n') else l + '\n' for l in ls))

# English prose: licence texts.
write('english.txt', lines('/usr/share/common-licenses/GPL-3', 0, 70) + lines('/usr/share/common-licenses/Apache-2.0', 0, 40))

# CJK: the Python codec test samples (UTF-8 versions).
write('chinese.txt', lines(T + 'cjkencodings/gb2312-utf8.txt') + lines(T + 'cjkencodings/big5-utf8.txt'))
write('japanese_korean.txt', lines(T + 'cjkencodings/euc_jp-utf8.txt') + lines(T + 'cjkencodings/shift_jis-utf8.txt')
      + lines(T + 'cjkencodings/euc_kr-utf8.txt'))

# Other scripts: lines of the CPython test suite holding Cyrillic, Greek, Arabic, Hebrew, Devanagari, Thai or emoji.
pat = re.compile('[\u0370-\u03ff\u0400-\u04ff\u0590-\u05ff\u0600-\u06ff\u0900-\u097f\u0e00-\u0e7f\U0001F300-\U0001FAFF]')
picked = []
for path in sorted(glob.glob(T + '*.py')):
    try:
        for l in lines(path):
            if pat.search(l) and len(l) < 300 and l not in picked:
                picked.append(l)
    except UnicodeDecodeError:
        pass
write('scripts.txt', picked[:120])

# Source code: C with tabs and spaces, and Windows batch files with CRLF.
write('code.txt', lines(PY + '/include/python3.13/object.h', 0, 60)
      + [l for l in lines(PY + '/lib/python3.13/config-3.13-x86_64-linux-gnu/Makefile') if '\t' in l][200:260]
      + lines(PY + '/lib/python3.13/idlelib/idle.bat') + lines(PY + '/lib/python3.13/ctypes/macholib/fetch_macholib.bat'))
