#!/usr/bin/env node
// The `npm-auth-scan` command of the npm package: runs the prebuilt binary from the platform
// package that npm installed beside this one. Every platform package is an optional dependency
// whose `os`, `cpu` and `libc` fields let npm install only the one that fits, so nothing is
// downloaded at install time (no postinstall). When none fits, or it was left out
// (`--omit=optional`), this says which package is missing and exits 2.
"use strict";

const { spawnSync } = require("node:child_process");
const path = require("node:path");
const platforms = require("../platforms.json");
const { version } = require("../package.json");

// The scanner's own "could not run" code (1 means findings).
const EXIT_ERROR = 2;

function fail(lines) {
  process.stderr.write(lines.map((line) => `npm-auth-scan: ${line}\n`).join(""));
  process.exit(EXIT_ERROR);
}

function libc() {
  const header = process.report.getReport().header;
  return header.glibcVersionRuntime ? "glibc" : "musl";
}

function resolve(platform) {
  try {
    return require.resolve(`${platform.package}/package.json`);
  } catch {
    return undefined;
  }
}

function binary() {
  const override = process.env.NPM_AUTH_SCAN_BINARY;
  if (override) return override;
  const fits = platforms.filter((p) => p.os === process.platform && p.cpu === process.arch);
  const installed = fits.filter((p) => resolve(p) !== undefined);
  // Linux has a glibc and a musl package; asking which libc this is costs a few milliseconds,
  // so only when npm installed both or neither.
  const here = fits.length > 1 && installed.length !== 1 ? libc() : undefined;
  const match = installed.length === 1 ? installed[0] : fits.find((p) => p.libc === here);
  const name = [process.platform, process.arch, match ? match.libc : here].filter(Boolean).join("-");
  if (!match) {
    fail([
      `no prebuilt binary for this platform (${name}); the platform packages are ${platforms
        .map((p) => p.package)
        .join(", ")}`,
      "build it from source instead: cargo install --locked npm-auth-scan",
    ]);
  }
  const manifest = resolve(match);
  if (manifest === undefined) {
    fail([
      `the platform package ${match.package} is not installed: it is the optional dependency of npm-auth-scan that carries the binary for ${name}`,
      `install it with: npm install --save-dev ${match.package}@${version}`,
      "or reinstall without --omit=optional (--no-optional), which leaves it out",
    ]);
  }
  const installedVersion = require(manifest).version;
  if (installedVersion !== version) {
    fail([
      `${match.package} is at ${installedVersion} but npm-auth-scan is at ${version}; install the same version of both: npm install --save-dev npm-auth-scan@${version} ${match.package}@${version}`,
    ]);
  }
  return path.join(path.dirname(manifest), "bin", match.exe);
}

const exe = binary();
const run = spawnSync(exe, process.argv.slice(2), { stdio: "inherit", windowsHide: true });
if (run.error) fail([`could not run ${exe}: ${run.error.message}`]);
if (run.signal) process.kill(process.pid, run.signal);
process.exit(run.status ?? EXIT_ERROR);
