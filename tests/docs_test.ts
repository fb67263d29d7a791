/**
 * The documentation holds together: every relative link and image in README.md and docs/*.md
 * points at a file that exists and, with `#anchor`, at a heading of it (GitHub's slugs), and the
 * README stays a front door of at most 300 lines. No broker, no network.
 */
import assert from "node:assert/strict";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = fileURLToPath(new URL("..", import.meta.url));

/** README.md and every Markdown file of docs/, as absolute paths. */
function markdownFiles(): string[] {
  const docs = [...Deno.readDirSync(join(ROOT, "docs"))]
    .filter((entry) => entry.isFile && entry.name.endsWith(".md"))
    .map((entry) => join(ROOT, "docs", entry.name))
    .sort();
  return [join(ROOT, "README.md"), ...docs];
}

/**
 * The text with every line of a fenced code block (``` or ~~~, the fences included) blanked, so
 * that line numbers stay as in the file.
 */
function withoutFences(text: string): string {
  let fence: string | null = null;
  return text.split("\n").map((line) => {
    const marker = /^ {0,3}(`{3,}|~{3,})/.exec(line)?.[1];
    if (fence === null) {
      if (marker === undefined) return line;
      fence = marker;
      return "";
    }
    if (marker !== undefined && marker[0] === fence[0] && marker.length >= fence.length) {
      if (line.trim() === marker) fence = null;
    }
    return "";
  }).join("\n");
}

/** GitHub's anchor for a heading's text: lowercase, punctuation dropped, spaces to hyphens. */
function slug(heading: string): string {
  return heading
    .replace(/!?\[([^\]]*)\]\([^)]*\)/g, "$1") // a link or image in a heading keeps its text
    .toLowerCase()
    // github-slugger keeps letters, marks, numbers, connectors (`_`), spaces and hyphens.
    .replace(/[^\p{L}\p{M}\p{N}\p{Pc} -]/gu, "")
    .replace(/ /g, "-");
}

/** The anchors of a list of headings, in order: a repeated slug gets -1, -2, … */
function slugs(headings: string[]): string[] {
  const seen = new Set<string>();
  return headings.map((heading) => {
    const base = slug(heading);
    let anchor = base;
    for (let n = 1; seen.has(anchor); n++) anchor = `${base}-${n}`;
    seen.add(anchor);
    return anchor;
  });
}

/** The ATX headings (`# …` to `###### …`) of a Markdown text, outside code blocks. */
function headings(text: string): string[] {
  const found: string[] = [];
  for (const line of withoutFences(text).split("\n")) {
    const match = /^ {0,3}#{1,6}[ \t]+(.*?)(?:[ \t]+#+)?[ \t]*$/.exec(line);
    if (match?.[1] !== undefined) found.push(match[1]);
  }
  return found;
}

/** A link or image found in a Markdown text. */
interface Link {
  line: number;
  target: string;
  image: boolean;
}

/**
 * Every inline link and image `[text](target)` / `![alt](target)` outside fenced code blocks and
 * inline code spans, with the line it starts on. Link text may wrap onto the next line.
 */
function links(text: string): Link[] {
  const prose = withoutFences(text).replace(/`+[^`]*`+/g, (code) => " ".repeat(code.length));
  const found: Link[] = [];
  for (const match of prose.matchAll(/(!?)\[[^\]]*\]\(\s*<?([^)\s>]*)>?(?:\s+"[^"]*")?\s*\)/g)) {
    const line = prose.slice(0, match.index).split("\n").length;
    found.push({ line, target: match[2] ?? "", image: match[1] === "!" });
  }
  return found;
}

/** Whether a target is a URL with a scheme (https:, http:, mailto:, …) rather than a path. */
function external(target: string): boolean {
  return /^[a-z][a-z0-9+.-]*:/i.test(target);
}

function exists(path: string): boolean {
  try {
    Deno.statSync(path);
    return true;
  } catch {
    return false;
  }
}

/** What is wrong with one relative target of `file`, or null when it resolves. */
function problem(file: string, target: string): string | null {
  const hash = target.indexOf("#");
  const path = decodeURIComponent(hash === -1 ? target : target.slice(0, hash));
  const anchor = hash === -1 ? null : decodeURIComponent(target.slice(hash + 1));
  const resolved = path === "" ? file : join(dirname(file), path);
  if (!exists(resolved)) return `no file ${relative(ROOT, resolved)}`;
  if (anchor === null) return null;
  if (!resolved.endsWith(".md")) return `#${anchor} on ${relative(ROOT, resolved)}, not Markdown`;
  const anchors = slugs(headings(Deno.readTextFileSync(resolved)));
  if (anchors.includes(anchor)) return null;
  return `no heading #${anchor} in ${relative(ROOT, resolved)} (it has: ${anchors.join(", ")})`;
}

Deno.test("every relative link in README.md and docs/*.md resolves, anchors included", () => {
  const failures: string[] = [];
  let checked = 0;
  let images = 0;
  let anchored = 0;
  for (const file of markdownFiles()) {
    const text = Deno.readTextFileSync(file);
    for (const { line, target, image } of links(text)) {
      if (external(target)) continue;
      checked++;
      if (image) images++;
      if (target.includes("#")) anchored++;
      const wrong = problem(file, target);
      if (wrong !== null) failures.push(`${relative(ROOT, file)}:${line}: (${target}): ${wrong}`);
    }
  }
  assert.deepEqual(failures, [], `broken links:\n${failures.join("\n")}`);
  // The check found what the documentation is known to hold, so it cannot pass on nothing.
  assert.ok(checked >= 40, `only ${checked} relative links found`);
  assert.ok(images >= 3, `only ${images} images found (month.svg, dashboard.png, replay…)`);
  assert.ok(anchored >= 20, `only ${anchored} links with an anchor found`);
});

Deno.test("README.md is a front door of at most 300 lines", () => {
  const text = Deno.readTextFileSync(join(ROOT, "README.md"));
  const lines = text.split("\n").length - (text.endsWith("\n") ? 1 : 0);
  assert.ok(lines <= 300, `README.md has ${lines} lines; move deep material into docs/`);
  assert.ok(lines >= 100, `README.md has only ${lines} lines`);
});

Deno.test("every docs/*.md starts with a title and links back to the README", () => {
  for (const file of markdownFiles().slice(1)) {
    const text = Deno.readTextFileSync(file);
    const name = relative(ROOT, file);
    assert.match(text, /^# \S/, `${name} does not start with "# Title"`);
    assert.ok(text.includes("](../README.md)"), `${name} has no link back to ../README.md`);
  }
});

Deno.test("the heading slug follows GitHub's rules: punctuation dropped, duplicates numbered", () => {
  assert.equal(
    slug("Statistics in Kafka (`temperature-stats`)"),
    "statistics-in-kafka-temperature-stats",
  );
  assert.equal(slug("Scaling out: a three-node cluster"), "scaling-out-a-three-node-cluster");
  assert.equal(slug("Example: Seattle 2012–2015"), "example-seattle-20122015");
  assert.equal(slug("The course's grader"), "the-courses-grader");
  assert.equal(slug("`MALLOC_ARENA_MAX` tried"), "malloc_arena_max-tried");
  assert.equal(slug("See [the README](../README.md)"), "see-the-readme");
  assert.deepEqual(slugs(["Tests", "Tests", "Other", "Tests"]), [
    "tests",
    "tests-1",
    "other",
    "tests-2",
  ]);
});

Deno.test("links are found in prose, across a line break, and not in code", () => {
  const text = [
    'See [the docs](docs/a.md#b) and ![a picture](docs/x.svg "title").',
    "```sh",
    "[not a link](nowhere.md)",
    "```",
    "Inline `[code](nowhere.md)` is not a link; [a link that",
    "wraps](docs/c.md) is, and so is [a mail](mailto:someone@example.com).",
  ].join("\n");
  assert.deepEqual(links(text), [
    { line: 1, target: "docs/a.md#b", image: false },
    { line: 1, target: "docs/x.svg", image: true },
    { line: 5, target: "docs/c.md", image: false },
    { line: 6, target: "mailto:someone@example.com", image: false },
  ]);
  assert.equal(external("mailto:someone@example.com"), true);
  assert.equal(external("https://deno.com"), true);
  assert.equal(external("docs/c.md"), false);
});
