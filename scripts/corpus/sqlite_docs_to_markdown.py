#!/usr/bin/env python3
"""Convert pages of the SQLite HTML documentation to clean Markdown for the demo corpus.

Usage:
    scripts/corpus/sqlite_docs_to_markdown.py DOC_DIR OUT_DIR [PAGE ...]

DOC_DIR is the folder with the HTML pages (Debian's sqlite3-doc installs them in
/usr/share/doc/sqlite3), OUT_DIR receives one PAGE.md per page. PAGE is a page name with
or without ".html"; without pages the built-in DEFAULT_PAGES list is converted.
--package-version sets the version named in each file's "Source:" line (default: asked of
dpkg-query for sqlite3-doc).

Standard library only; the output depends only on the input files and the arguments.
What it does: drops the header, menus, search form, table of contents, scripts, syntax
diagrams (SVG) and the "last modified" footer; turns headings into #/##/###, paragraphs into
single lines separated by blank lines, lists into "- " / "1. " items, <pre> into fenced code
blocks, <tt>/<code> into `code`, and table rows into one line each with cells joined by " | ".
Links keep their text only. Entities are decoded by html.parser.
"""

import argparse
import os
import re
import subprocess
import sys
from html.parser import HTMLParser

DEFAULT_PAGES = [
    "whentouse", "faq", "quirks", "copyright",
    "datatype3", "stricttables", "rowidtable", "withoutrowid", "autoinc", "gencol",
    "lang_createtable", "lang_altertable", "lang_createindex", "partialindex", "expridx",
    "lang_createview", "lang_createtrigger", "lang_upsert", "lang_with", "windowfunctions",
    "json1", "lang_datefunc", "fts5", "foreignkeys",
    "lang_transaction", "isolation", "lockingv3", "wal", "atomiccommit", "howtocorrupt",
    "queryplanner", "optoverview", "eqp", "lang_analyze", "lang_vacuum", "pragma", "backup",
    "limits", "testing",
]

# Elements dropped with everything inside them.
SKIP_TAGS = {"script", "style", "svg", "button", "form", "select", "noscript",
             "iframe", "object", "map", "textarea"}
# <div class="..."> dropped with everything inside: banner/menus/search (nosearch also holds
# the fancy title and the table of contents), sidebars, syntax-diagram containers.
SKIP_DIV_CLASSES = {"nosearch", "fancy_toc", "rightsidebar", "imgcontainer", "menu",
                    "searchmenu", "tagline"}
VOID_TAGS = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta",
             "param", "source", "track", "wbr"}
# Tags that end the current paragraph.
BLOCK_TAGS = {"p", "div", "blockquote", "center", "table", "thead", "tbody", "tfoot", "tr",
              "dl", "dt", "dd", "hr", "address", "figure", "figcaption", "caption", "ul", "ol",
              "li", "pre", "h1", "h2", "h3", "h4", "h5", "h6", "h", "body", "html", "font"}
HEADING_LEVEL = {"h1": 1, "h2": 2, "h3": 3, "h4": 4, "h5": 5, "h6": 6,
                 "h": 3}  # pragma.html: <h _id=pragma_x style="display:none"> per pragma

CODE_OPEN, CODE_CLOSE, BR, CELL = "\x00", "\x01", "\x02", "\x03"


class Block:
    def __init__(self, kind, text, level=0, indent="", marker="", cont=False):
        self.kind = kind        # "h", "p", "pre"
        self.text = text
        self.level = level      # HTML heading level for "h"
        self.indent = indent    # list nesting indent
        self.marker = marker    # "- " or "3. " on the first block of a list item
        self.cont = cont        # True: continuation block inside a list item


class DocParser(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.title = ""
        self.in_title = False
        self.skip_tag = None
        self.skip_depth = 0
        self.blocks = []
        self.buf = []
        self.heading = None     # tag of the open heading
        self.pre = None         # list of raw strings while inside <pre>
        self.lists = []         # [kind, next number]
        self.pending_marker = None
        self.in_li = False
        self.bold = 0
        self.bold_chars = 0
        self.plain_chars = 0
        self.has_button = False
        self.table_depth = 0

    # ---- helpers -------------------------------------------------------------------------
    def _list_indent(self):
        return "    " * max(0, len(self.lists) - 1)

    def _emit(self, block):
        if self.in_li and self.lists:
            block.indent = self._list_indent()
            if self.pending_marker is not None:
                block.marker = self.pending_marker
                self.pending_marker = None
            else:
                block.cont = True
        self.blocks.append(block)

    def flush(self):
        raw = "".join(self.buf)
        self.buf = []
        has_button, self.has_button = self.has_button, False
        bold_only = self.bold_chars > 0 and self.plain_chars == 0
        self.bold_chars = self.plain_chars = 0
        text = clean_inline(raw)
        if not text or has_button:
            # A syntax-diagram label ("create-table-stmt:" + hide/show button) is dropped.
            return
        if self.heading:
            self._emit(Block("h", text, HEADING_LEVEL[self.heading]))
        elif (bold_only and not self.in_li and not self.table_depth and len(text) < 200
              and "\n" not in text):
            # A paragraph that is one bold line (faq.html's questions) becomes a subheading.
            self._emit(Block("h", text, 0))
        elif self.table_depth and not self.in_li:
            # a table row (or a paragraph inside a cell) becomes a "- " item
            self._emit(Block("p", text, marker="- "))
        else:
            self._emit(Block("p", text))

    # ---- parser callbacks ----------------------------------------------------------------
    def handle_starttag(self, tag, attrs):
        if self.skip_tag:
            if tag == self.skip_tag:
                self.skip_depth += 1
            return
        if tag == "title":
            self.in_title = True
            return
        classes = set((dict(attrs).get("class") or "").split())
        if tag in SKIP_TAGS or (tag == "div" and classes & SKIP_DIV_CLASSES):
            if tag == "button":
                self.has_button = True
            if tag not in VOID_TAGS:
                self.skip_tag, self.skip_depth = tag, 1
            return
        if self.pre is not None:
            if tag == "br":
                self.pre.append("\n")
            return
        if tag in BLOCK_TAGS:
            self.flush()
        if tag in HEADING_LEVEL:
            self.heading = tag
        elif tag == "pre":
            self.pre = []
        elif tag in ("ul", "ol"):
            self.lists.append([tag, 1])
        elif tag == "li":
            if self.lists:
                kind = self.lists[-1]
                value = dict(attrs).get("value")
                if value and value.isdigit():
                    kind[1] = int(value)
                if kind[0] == "ol":
                    self.pending_marker = "%d. " % kind[1]
                    kind[1] += 1
                else:
                    self.pending_marker = "- "
                self.in_li = True
        elif tag == "table":
            self.table_depth += 1
        elif tag in ("td", "th"):
            self.buf.append(CELL)
        elif tag in ("tt", "code", "kbd", "samp"):
            self.buf.append(CODE_OPEN)
        elif tag in ("b", "strong"):
            self.bold += 1
        elif tag == "br":
            self.buf.append(BR)
        elif tag == "sup":
            self.buf.append("^")   # 2<sup>31</sup> -> 2^31
        elif tag == "sub":
            self.buf.append("_")   # X<sub>i</sub> -> X_i

    def handle_startendtag(self, tag, attrs):
        self.handle_starttag(tag, attrs)
        if tag not in VOID_TAGS:
            self.handle_endtag(tag)

    def handle_endtag(self, tag):
        if self.skip_tag:
            if tag == self.skip_tag:
                self.skip_depth -= 1
                if self.skip_depth == 0:
                    self.skip_tag = None
            return
        if tag == "title":
            self.in_title = False
            return
        if self.pre is not None:
            if tag == "pre":
                code = format_pre("".join(self.pre))
                self.pre = None
                if code:
                    self._emit(Block("pre", code))
            return
        if tag in BLOCK_TAGS:
            self.flush()
        if tag in HEADING_LEVEL:
            self.heading = None
        elif tag in ("ul", "ol"):
            if self.lists:
                self.lists.pop()
            self.pending_marker = None
            self.in_li = bool(self.lists)
        elif tag == "table":
            self.table_depth = max(0, self.table_depth - 1)
        elif tag in ("tt", "code", "kbd", "samp"):
            self.buf.append(CODE_CLOSE)
        elif tag in ("b", "strong"):
            self.bold = max(0, self.bold - 1)

    def handle_data(self, data):
        if self.skip_tag:
            return
        if self.in_title:
            self.title += data
            return
        if self.pre is not None:
            self.pre.append(data)
            return
        if data.strip():
            n = len(data.strip())
            if self.bold:
                self.bold_chars += n
            else:
                self.plain_chars += n
        self.buf.append(data)

    def close(self):
        super().close()
        self.flush()


def clean_inline(raw):
    text = re.sub(r"[ \t\r\n\f\v\u00a0]+", " ", raw)
    text = text.replace("\u00a0", " ")

    def code(m):
        inner = m.group(1).replace(CODE_OPEN, "").replace(CODE_CLOSE, "").strip()
        if not inner:
            return ""
        tick = "``" if "`" in inner else "`"
        pad = " " if tick == "``" else ""
        return tick + pad + inner + pad + tick

    # innermost code spans first, then any unbalanced markers are dropped
    text = re.sub(CODE_OPEN + "([^" + CODE_OPEN + CODE_CLOSE + "]*)" + CODE_CLOSE, code, text)
    text = text.replace(CODE_OPEN, "").replace(CODE_CLOSE, "")
    # table cells: empty ones vanish, the others are joined with " | "
    text = re.sub("^[ " + CELL + "]+|[ " + CELL + "]+$", "", text)
    text = re.sub(" *" + CELL + "[ " + CELL + "]*", " | ", text)
    text = re.sub(r" *" + BR + " *", BR, text)
    text = re.sub(BR + "+", "\n", text.strip(" " + BR)).strip()
    # a space before punctuation left by a removed tag boundary, e.g. "word ."
    text = re.sub(r"` ([.,;:)])", r"`\1", text)
    return text


def format_pre(raw):
    if raw.startswith("\r\n"):
        raw = raw[2:]
    elif raw.startswith("\n"):
        raw = raw[1:]
    lines = [line.rstrip().replace("\t", "        ") for line in raw.split("\n")]
    while lines and not lines[0]:
        lines.pop(0)
    while lines and not lines[-1]:
        lines.pop()
    if not lines:
        return ""
    common = min(len(l) - len(l.lstrip(" ")) for l in lines if l)
    return "\n".join(l[common:] for l in lines)


def render(title, page, version, blocks):
    # Drop a first heading that repeats the page title (pragma.html, faq.html ...).
    if blocks and blocks[0].kind == "h" and (
            blocks[0].text.lower() == title.lower() or blocks[0].level == 1
            and not re.match(r"\d", blocks[0].text)):
        blocks = blocks[1:]
    levels = [b.level for b in blocks if b.kind == "h" and b.level]
    top = min(levels) if levels else 1
    out = ["# " + title + "\n\n"
           "Source: SQLite documentation, %s.html (public domain), from Debian package "
           "sqlite3-doc %s." % (page, version)]
    last_level = 1
    seen_top = False
    for b in blocks:
        if b.kind == "h":
            seen_top = seen_top or b.level == top
            if b.level and not seen_top:
                # an introduction heading above the first top-level section (queryplanner.html)
                b.out_level = last_level = 2
                continue
            b.out_level = min(6, b.level - top + 2) if b.level else min(6, last_level + 1)
            if b.level:
                last_level = b.out_level
    # Drop headings left without content (the "Syntax" sections once their diagrams are gone).
    kept = []
    for i, b in enumerate(blocks):
        nxt = blocks[i + 1] if i + 1 < len(blocks) else None
        if b.kind == "h" and (nxt is None or nxt.kind == "h" and nxt.out_level <= b.out_level):
            continue
        kept.append(b)
    prev = None
    for b in kept:
        if b.kind == "h":
            body = "#" * b.out_level + " " + b.text.replace("\n", " ")
        elif b.kind == "pre":
            fence = "~~~" if "```" in b.text else "```"
            body = fence + "\n" + b.text + "\n" + fence
        else:
            body = b.text
        if b.indent or b.marker or b.cont:
            lead = b.indent + (b.marker if b.marker else "")
            cont = b.indent + " " * (len(b.marker) if b.marker else 0)
            if b.cont:
                cont = b.indent + "    "
                lead = cont
            lines = body.split("\n")
            body = "\n".join([lead + lines[0]] + [(cont + l) if l else "" for l in lines[1:]])
        # consecutive one-paragraph list items stay tight; anything else gets a blank line
        tight = (prev is not None and b.marker and prev.marker and prev.kind == "p"
                 and b.kind == "p")
        out.append(("\n" if tight else "\n\n") + body)
        prev = b
    text = "".join(out)
    text = re.sub(r"\n{3,}", "\n\n", text).strip("\n") + "\n"
    return text


def convert(doc_dir, page, version):
    path = os.path.join(doc_dir, page + ".html")
    with open(path, encoding="utf-8") as f:
        html = f.read()
    p = DocParser()
    p.feed(html)
    p.close()
    title = re.sub(r"\s+", " ", p.title).strip() or page
    blocks = [b for b in p.blocks
              if not (b.kind == "p" and b.text.startswith("This page last modified"))]
    return render(title, page, version, blocks)


def package_version():
    try:
        return subprocess.run(["dpkg-query", "-W", "-f=${Version}", "sqlite3-doc"],
                              check=True, capture_output=True, text=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("doc_dir")
    ap.add_argument("out_dir")
    ap.add_argument("pages", nargs="*", help="page names (default: the built-in list)")
    ap.add_argument("--package-version", default=None)
    args = ap.parse_args()
    version = args.package_version or package_version()
    pages = [re.sub(r"\.html$", "", p) for p in (args.pages or DEFAULT_PAGES)]
    os.makedirs(args.out_dir, exist_ok=True)
    for page in pages:
        md = convert(args.doc_dir, page, version)
        out = os.path.join(args.out_dir, page + ".md")
        with open(out, "w", encoding="utf-8", newline="\n") as f:
            f.write(md)
        size = len(md.encode("utf-8"))
        print("%-22s %7d bytes%s" % (page + ".md", size,
                                     "  (over 150 KB)" if size > 150_000 else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
