/**
 * `scripts/apt_mirror.sh`, which `scripts/docker_bases.sh` debootstraps from, on every apt
 * layout Debian ships, each laid out in a temporary folder.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { ROOT, tempDir } from "./harness.ts";

/** This machine kind's own deb822 file, comments (with URLs in them) included. */
const DEB822 = `Types: deb
# http://snapshot.debian.org/archive/debian/20250520T000000Z
URIs: http://deb.debian.org/debian
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
# http://snapshot.debian.org/archive/debian-security/20250520T000000Z
URIs: http://deb.debian.org/debian-security
Suites: bookworm-security
Components: main
`;

async function mirrorOf(
  files: Record<string, string>,
): Promise<{ code: number; stdout: string; stderr: string }> {
  const dir = await tempDir();
  try {
    await Deno.mkdir(join(dir, "sources.list.d"));
    for (const [name, text] of Object.entries(files)) {
      await Deno.writeTextFile(join(dir, name), text);
    }
    const { code, stdout, stderr } = await new Deno.Command("bash", {
      args: [join(ROOT, "scripts/apt_mirror.sh"), dir],
      stdin: "null",
    }).output();
    const decoder = new TextDecoder();
    return { code, stdout: decoder.decode(stdout).trim(), stderr: decoder.decode(stderr).trim() };
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("apt mirror: deb822 .sources only (no sources.list), security and comments passed over", async () => {
  assert.deepEqual(await mirrorOf({ "sources.list.d/debian.sources": DEB822 }), {
    code: 0,
    stdout: "http://deb.debian.org/debian",
    stderr: "",
  });
});

Deno.test("apt mirror: deb822 with a disabled stanza and a deb-src stanza first", async () => {
  const text = `Types: deb
URIs: http://disabled.example/debian
Suites: bookworm
Components: main
Enabled: no

Types: deb-src
URIs: http://source.example/debian
Suites: bookworm
Components: main

Types: deb deb-src
URIs: https://mirror.example/debian/ http://second.example/debian
Suites: bookworm
Components: main
`;
  const found = await mirrorOf({ "sources.list.d/mirror.sources": text });
  assert.deepEqual(found, { code: 0, stdout: "https://mirror.example/debian", stderr: "" });
});

Deno.test("apt mirror: one-line sources.list with options, security first, deb-src and comments", async () => {
  const text = `# deb http://commented.example/debian bookworm main
deb-src http://source.example/debian bookworm main
deb http://security.debian.org/debian-security bookworm-security main
deb [ arch=amd64 signed-by=/usr/share/keyrings/debian.gpg ] http://one.example/debian/ bookworm main
deb http://two.example/debian bookworm main
`;
  assert.deepEqual(await mirrorOf({ "sources.list": text }), {
    code: 0,
    stdout: "http://one.example/debian",
    stderr: "",
  });
});

Deno.test("apt mirror: .list files only, and sources.list with nothing usable before deb822", async () => {
  const list = "deb [arch=amd64] http://list.example/debian bookworm main contrib\n";
  assert.equal(
    (await mirrorOf({ "sources.list.d/extra.list": list })).stdout,
    "http://list.example/debian",
  );
  const both = await mirrorOf({
    "sources.list": "# emptied by the machine's image\n",
    "sources.list.d/debian.sources": DEB822,
  });
  assert.equal(both.stdout, "http://deb.debian.org/debian");
});

Deno.test("apt mirror: no sources at all, or none over HTTP, is a one-line error and exit 1", async () => {
  const none = await mirrorOf({});
  assert.equal(none.code, 1);
  assert.equal(none.stdout, "");
  assert.match(
    none.stderr,
    /^error: no apt sources in \S+ \(no sources\.list, no sources\.list\.d/,
  );
  assert.equal(none.stderr.split("\n").length, 1);
  const cdrom = await mirrorOf({ "sources.list": "deb cdrom:[Debian 12]/ bookworm main\n" });
  assert.equal(cdrom.code, 1);
  assert.match(cdrom.stderr, /^error: no HTTP Debian mirror among the apt sources in /);
});
