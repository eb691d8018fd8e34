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
  if (process.platform !== "linux") return undefined;
  const header = process.report.getReport().header;
  return header.glibcVersionRuntime ? "glibc" : "musl";
}

function binary() {
  const override = process.env.NPM_AUTH_SCAN_BINARY;
  if (override) return override;
  const here = { os: process.platform, cpu: process.arch, libc: libc() };
  const name = [here.os, here.cpu, here.libc].filter(Boolean).join("-");
  const match = platforms.find(
    (p) => p.os === here.os && p.cpu === here.cpu && (p.libc === undefined || p.libc === here.libc),
  );
  if (!match) {
    fail([
      `no prebuilt binary for this platform (${name}); the platform packages are ${platforms
        .map((p) => p.package)
        .join(", ")}`,
      "build it from source instead: cargo install --locked npm-auth-scan",
    ]);
  }
  let manifest;
  try {
    manifest = require.resolve(`${match.package}/package.json`);
  } catch {
    fail([
      `the platform package ${match.package} is not installed: it is the optional dependency of npm-auth-scan that carries the binary for ${name}`,
      `install it with: npm install --save-dev ${match.package}@${version}`,
      "or reinstall without --omit=optional (--no-optional), which leaves it out",
    ]);
  }
  const installed = require(manifest).version;
  if (installed !== version) {
    fail([
      `${match.package} is at ${installed} but npm-auth-scan is at ${version}; install the same version of both: npm install --save-dev npm-auth-scan@${version} ${match.package}@${version}`,
    ]);
  }
  return path.join(path.dirname(manifest), "bin", match.exe);
}

const exe = binary();
const run = spawnSync(exe, process.argv.slice(2), { stdio: "inherit", windowsHide: true });
if (run.error) fail([`could not run ${exe}: ${run.error.message}`]);
if (run.signal) process.kill(process.pid, run.signal);
process.exit(run.status ?? EXIT_ERROR);
