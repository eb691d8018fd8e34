//! `--format html`: the audit as one self-contained page. CSS and script are inline, a
//! Content-Security-Policy forbids every request (the page works from `file://` and offline),
//! and everything is readable without the script: summary cards, the charts (inline SVG), the
//! table of repositories and the checklist, folded per repository with `<details>`. The script
//! only adds sorting, a filter and pagination to the table, and opens every fold for printing.

use std::fmt::Write as _;

use rayon::prelude::*;

use super::{plural, short_commit, Audit, Checklist, RepoTotals, Task, Totals};
use crate::finding::Severity;

/// Repositories with findings up to this many start unfolded.
const OPEN_UP_TO: usize = 12;

const STYLE: &str = r#"
:root{--fg:#1b1f24;--muted:#57606a;--line:#d0d7de;--bg:#fff;--soft:#f6f8fa;--critical:#8b0000;--high:#cf222e;--medium:#bc4c00;--low:#9a6700;--info:#0969da}
*{box-sizing:border-box}
body{font:15px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:var(--fg);background:var(--bg);margin:0 auto;max-width:1180px;padding:24px}
h1{font-size:26px;margin:0 0 4px}h2{font-size:20px;margin:32px 0 12px;border-bottom:1px solid var(--line);padding-bottom:4px}
h3{display:inline;font-size:17px;margin:0}h4{font-size:15px;margin:16px 0 4px}
.meta,.advice,.muted{color:var(--muted)}.advice{font-size:14px;margin:0 0 8px}
code,pre{font:13px/1.45 ui-monospace,SFMono-Regular,Menlo,Consolas,monospace}
.cards{display:grid;grid-template-columns:repeat(auto-fit,minmax(200px,1fr));gap:12px}
.card{border:1px solid var(--line);border-radius:8px;padding:12px 16px;background:var(--soft)}
.card .n{display:block;font-size:30px;font-weight:650}.card .l{color:var(--muted)}
.charts{display:grid;grid-template-columns:repeat(auto-fit,minmax(420px,1fr));gap:16px}
figure{margin:0;border:1px solid var(--line);border-radius:8px;padding:12px}figcaption{font-weight:600;margin-bottom:6px}
svg text{font:12px system-ui,sans-serif;fill:var(--fg)}
table{border-collapse:collapse;width:100%}th,td{text-align:left;padding:4px 8px;border-bottom:1px solid var(--line);vertical-align:top}
td.num,th.num{text-align:right;font-variant-numeric:tabular-nums}
th[data-sort]{cursor:pointer;user-select:none}th[aria-sort=ascending]::after{content:" \25B2"}th[aria-sort=descending]::after{content:" \25BC"}
.tools{display:flex;gap:12px;align-items:center;margin:8px 0}.tools input{font:inherit;padding:4px 8px;min-width:260px}
nav.pager button{font:inherit;padding:2px 10px}
details.repo{border:1px solid var(--line);border-radius:8px;margin:10px 0;padding:8px 14px}
details.repo>summary{cursor:pointer}details.repo[open]>summary{margin-bottom:6px}
ul.tasks{list-style:none;padding:0;margin:0}li.task{border-left:4px solid var(--line);padding:6px 10px;margin:6px 0;background:var(--soft)}
li.task.sev-critical{border-color:var(--critical)}li.task.sev-high{border-color:var(--high)}li.task.sev-medium{border-color:var(--medium)}li.task.sev-low{border-color:var(--low)}li.task.sev-info{border-color:var(--info)}
.task-title{font-weight:600}ul.places,ul.notes{margin:4px 0;padding-left:20px}ul.notes code{white-space:pre-wrap;word-break:break-all}
.sev{display:inline-block;font-size:12px;font-weight:600;padding:0 6px;border-radius:10px;color:#fff;background:var(--muted)}
.sev.critical{background:var(--critical)}.sev.high{background:var(--high)}.sev.medium{background:var(--medium)}.sev.low{background:var(--low)}.sev.info{background:var(--info)}
.rule{font-size:12px;color:var(--muted)}
details.diff>summary{cursor:pointer;color:var(--muted);font-size:13px}
pre.diff{background:#fff;border:1px solid var(--line);padding:8px;overflow-x:auto;margin:4px 0}
pre.diff .add{color:#116329;background:#dafbe1}pre.diff .del{color:#82071e;background:#ffebe9}pre.diff .hunk{color:var(--info)}
.problems{border:1px solid var(--high);border-radius:8px;padding:8px 14px}
@media print{body{max-width:none;padding:0;font-size:12px}.tools,nav.pager{display:none!important}#repo-table tbody tr{display:table-row!important}
details.repo,li.task,figure{break-inside:avoid}details>summary{list-style:none}a{color:inherit;text-decoration:none}.cards{grid-template-columns:repeat(4,1fr)}}
"#;

const SCRIPT: &str = r#"
(function(){
var table=document.getElementById('repo-table');var PAGE=50;var page=0;var query='';
var body=table.tBodies[0];var rows=Array.prototype.slice.call(body.rows);
var pager=document.getElementById('pager');var filter=document.getElementById('filter');
function visible(){return rows.filter(function(r){return !query||r.getAttribute('data-name').indexOf(query)>=0;});}
function draw(){var v=visible();var pages=Math.max(1,Math.ceil(v.length/PAGE));if(page>=pages)page=pages-1;
rows.forEach(function(r){r.hidden=true;});v.forEach(function(r,i){r.hidden=!(i>=page*PAGE&&i<(page+1)*PAGE);});
if(rows.length>PAGE||query){pager.hidden=false;var a=v.length?page*PAGE+1:0;var b=Math.min(v.length,(page+1)*PAGE);
pager.querySelector('.range').textContent=a+'\u2013'+b+' of '+v.length;pager.querySelector('.prev').disabled=page===0;pager.querySelector('.next').disabled=page>=pages-1;}}
Array.prototype.forEach.call(table.tHead.rows[0].cells,function(th,col){if(!th.hasAttribute('data-sort'))return;
th.tabIndex=0;function sort(){var asc=th.getAttribute('aria-sort')!=='ascending';
Array.prototype.forEach.call(table.tHead.rows[0].cells,function(o){o.removeAttribute('aria-sort');});th.setAttribute('aria-sort',asc?'ascending':'descending');
var num=th.getAttribute('data-sort')==='num';rows.sort(function(x,y){var a=x.cells[col].getAttribute('data-v'),b=y.cells[col].getAttribute('data-v');
var c=num?(Number(a)-Number(b)):(a<b?-1:a>b?1:0);return asc?c:-c;});rows.forEach(function(r){body.appendChild(r);});page=0;draw();}
th.addEventListener('click',sort);th.addEventListener('keydown',function(e){if(e.key==='Enter'||e.key===' '){e.preventDefault();sort();}});});
pager.querySelector('.prev').addEventListener('click',function(){page--;draw();});pager.querySelector('.next').addEventListener('click',function(){page++;draw();});
filter.parentNode.hidden=false;filter.addEventListener('input',function(){query=filter.value.trim().toLowerCase();page=0;draw();});
draw();
window.addEventListener('beforeprint',function(){Array.prototype.forEach.call(document.querySelectorAll('details'),function(d){d.open=true;});});
document.documentElement.setAttribute('data-js','ready');
})();
"#;

/// Appends `text` HTML-escaped (text and attribute values alike).
fn esc(out: &mut String, text: &str) {
    let mut last = 0;
    for (i, b) in text.bytes().enumerate() {
        let rep = match b {
            b'&' => "&amp;",
            b'<' => "&lt;",
            b'>' => "&gt;",
            b'"' => "&quot;",
            b'\'' => "&#39;",
            _ => continue,
        };
        out.push_str(&text[last..i]);
        out.push_str(rep);
        last = i + 1;
    }
    out.push_str(&text[last..]);
}

/// Appends our message text escaped, its backtick spans as `<code>`.
fn rich(out: &mut String, text: &str) {
    for (code, part) in super::code_spans(text) {
        if code {
            out.push_str("<code>");
            esc(out, part);
            out.push_str("</code>");
        } else {
            esc(out, part);
        }
    }
}

fn severity_color(s: Severity) -> &'static str {
    match s {
        Severity::Critical => "#8b0000",
        Severity::High => "#cf222e",
        Severity::Medium => "#bc4c00",
        Severity::Low => "#9a6700",
        Severity::Info => "#0969da",
    }
}

/// A horizontal bar chart as inline SVG: one bar per (label, count, colour).
fn bar_chart(out: &mut String, id: &str, caption: &str, bars: &[(String, usize, &str)]) {
    const ROW: usize = 22;
    const LABEL: usize = 250;
    const WIDTH: usize = 640;
    let max = bars.iter().map(|b| b.1).max().unwrap_or(0).max(1);
    let height = ROW * bars.len().max(1) + 4;
    let _ = write!(
        out,
        "<figure id=\"{id}\"><figcaption>{caption}</figcaption><svg role=\"img\" viewBox=\"0 0 {WIDTH} {height}\" width=\"100%\" aria-label=\"{caption}\">"
    );
    if bars.is_empty() {
        out.push_str("<text x=\"0\" y=\"16\">no findings</text>");
    }
    for (i, (label, count, color)) in bars.iter().enumerate() {
        let y = i * ROW;
        let w = (count * (WIDTH - LABEL - 60))
            .div_ceil(max)
            .max(usize::from(*count > 0));
        out.push_str("<g><text x=\"0\" y=\"");
        let _ = write!(out, "{}\">", y + 15);
        esc(out, label);
        let _ = write!(
            out,
            "</text><rect x=\"{LABEL}\" y=\"{}\" width=\"{w}\" height=\"16\" fill=\"{color}\"></rect><text x=\"{}\" y=\"{}\">{count}</text></g>",
            y + 3,
            LABEL + w + 6,
            y + 15
        );
    }
    out.push_str("</svg></figure>");
}

fn card(out: &mut String, id: &str, n: usize, label: &str) {
    let _ = write!(
        out,
        "<div class=\"card\" id=\"{id}\"><span class=\"n\">{n}</span><span class=\"l\">{label}</span></div>"
    );
}

fn diff_block(out: &mut String, diff: &str, applicability: &str) {
    let _ = write!(
        out,
        "<details class=\"diff\"><summary>suggested rewrite ({applicability})</summary><pre class=\"diff\">"
    );
    for line in diff.lines() {
        let class = if line.starts_with("+++") || line.starts_with("---") {
            Some("hunk")
        } else if line.starts_with('+') {
            Some("add")
        } else if line.starts_with('-') {
            Some("del")
        } else if line.starts_with("@@") {
            Some("hunk")
        } else {
            None
        };
        match class {
            Some(c) => {
                let _ = write!(out, "<span class=\"{c}\">");
                esc(out, line);
                out.push_str("</span>\n");
            }
            None => {
                esc(out, line);
                out.push('\n');
            }
        }
    }
    out.push_str("</pre></details>");
}

fn task(out: &mut String, t: &Task<'_>) {
    let sev = t.severity.as_str();
    let _ = write!(
        out,
        "<li class=\"task sev-{sev}\"><label><input type=\"checkbox\"> <span class=\"task-title\">"
    );
    rich(out, &t.title);
    let _ = write!(
        out,
        "</span></label> <span class=\"sev {sev}\">{sev}</span><ul class=\"places\">"
    );
    for p in &t.places {
        out.push_str("<li>");
        let at = format!("{}:{}", p.path, p.item.line);
        match &p.link {
            Some(link) => {
                out.push_str("<a href=\"");
                esc(out, link);
                out.push_str("\"><code>");
                esc(out, &at);
                out.push_str("</code></a>");
            }
            None => {
                out.push_str("<code>");
                esc(out, &at);
                out.push_str("</code>");
            }
        }
        if let Some(c) = p.item.commit.as_ref().filter(|c| !c.in_head) {
            out.push_str(" <span class=\"rule\">in the history only, commit ");
            esc(out, short_commit(&c.id));
            out.push_str("</span>");
        }
        out.push_str(" <span class=\"rule\">");
        esc(out, &p.item.rule);
        out.push_str("</span> ");
        rich(out, &p.item.message);
        out.push_str("</li>");
    }
    out.push_str("</ul>");
    if !t.notes.is_empty() {
        out.push_str("<ul class=\"notes\">");
        for n in &t.notes {
            out.push_str("<li><code>");
            esc(out, n.as_ref());
            out.push_str("</code></li>");
        }
        out.push_str("</ul>");
    }
    for (diff, applicability) in &t.diffs {
        diff_block(out, diff, applicability.as_str());
    }
    out.push_str("</li>");
}

fn summary(out: &mut String, t: &Totals) {
    out.push_str("<section id=\"summary\" class=\"cards\">");
    card(
        out,
        "card-repositories",
        t.repositories,
        "repositories scanned",
    );
    card(
        out,
        "card-with-findings",
        t.with_findings,
        "repositories with findings",
    );
    card(
        out,
        "card-credentials",
        t.credentials,
        "credentials to revoke",
    );
    card(
        out,
        "card-publish-jobs",
        t.publish_jobs,
        "publish jobs to move to trusted publishing",
    );
    out.push_str("</section>");
    out.push_str("<h2 id=\"findings\">Findings</h2><div class=\"charts\">");
    let by_severity: Vec<(String, usize, &str)> = Severity::ALL
        .iter()
        .rev()
        .map(|s| {
            (
                s.as_str().to_string(),
                t.by_severity[*s as usize],
                severity_color(*s),
            )
        })
        .collect();
    bar_chart(out, "chart-severity", "Findings by severity", &by_severity);
    let by_rule: Vec<(String, usize, &str)> = t
        .by_rule
        .iter()
        .map(|(rule, n)| (rule.clone(), *n, "#57606a"))
        .collect();
    bar_chart(out, "chart-rule", "Findings by rule", &by_rule);
    out.push_str("</div>");
}

fn repo_table(out: &mut String, audit: &Audit, per_repo: &[RepoTotals]) {
    out.push_str(
        "<h2 id=\"repositories\">Repositories</h2>\
         <div class=\"tools\" hidden><input id=\"filter\" type=\"search\" placeholder=\"Filter repositories by name\" aria-label=\"Filter repositories by name\"></div>\
         <table id=\"repo-table\"><thead><tr><th data-sort=\"text\">Repository</th>\
         <th class=\"num\" data-sort=\"num\">Findings</th><th class=\"num\" data-sort=\"num\">Critical</th>\
         <th class=\"num\" data-sort=\"num\">High</th><th class=\"num\" data-sort=\"num\">Medium</th>\
         <th class=\"num\" data-sort=\"num\">Low</th><th class=\"num\" data-sort=\"num\">Credentials</th>\
         <th class=\"num\" data-sort=\"num\">Publish jobs</th><th class=\"num\" data-sort=\"num\">Files</th>\
         <th>Commit</th></tr></thead><tbody>",
    );
    let mut order: Vec<usize> = (0..audit.repos.len()).collect();
    order.sort_by(|&a, &b| {
        audit.repos[a]
            .repository
            .name
            .cmp(&audit.repos[b].repository.name)
    });
    for i in order {
        let r = &audit.repos[i];
        let t = &per_repo[i];
        let name = &r.repository.name;
        out.push_str("<tr data-name=\"");
        esc(out, &name.to_lowercase());
        out.push_str("\"><td data-v=\"");
        esc(out, &name.to_lowercase());
        out.push_str("\">");
        if r.findings.is_empty() && r.errors.is_empty() {
            esc(out, name);
        } else {
            let _ = write!(out, "<a href=\"#repo-{i}\">");
            esc(out, name);
            out.push_str("</a>");
        }
        out.push_str("</td>");
        let sev = |s: Severity| t.by_severity[s as usize];
        for n in [
            r.findings.len(),
            sev(Severity::Critical),
            sev(Severity::High),
            sev(Severity::Medium),
            sev(Severity::Low),
            t.credentials,
            t.publish_jobs,
            r.files_scanned,
        ] {
            let _ = write!(out, "<td class=\"num\" data-v=\"{n}\">{n}</td>");
        }
        out.push_str("<td>");
        commit(out, r);
        out.push_str("</td></tr>");
    }
    out.push_str(
        "</tbody></table><nav id=\"pager\" class=\"pager\" hidden><button type=\"button\" class=\"prev\">Previous</button> \
         <span class=\"range\"></span> <button type=\"button\" class=\"next\">Next</button></nav>",
    );
}

fn commit(out: &mut String, r: &super::Repo) {
    let Some(c) = r.repository.commit.as_deref() else {
        return;
    };
    match r.repository.url.as_deref() {
        Some(url) => {
            out.push_str("<a href=\"");
            esc(out, url);
            out.push_str("\"><code>");
            esc(out, short_commit(c));
            out.push_str("</code></a>");
        }
        None => {
            out.push_str("<code>");
            esc(out, short_commit(c));
            out.push_str("</code>");
        }
    }
}

/// The checklist of repository `i`, folded under its name.
fn repo_section(
    audit: &Audit,
    i: usize,
    t: &RepoTotals,
    list: &Checklist<'_>,
    open: bool,
) -> String {
    let r = &audit.repos[i];
    let mut out = String::with_capacity(4096);
    let out = &mut out;
    let _ = write!(
        out,
        "<details class=\"repo\" id=\"repo-{i}\"{}><summary><h3>",
        if open { " open" } else { "" }
    );
    esc(out, &r.repository.name);
    let _ = write!(
        out,
        "</h3> <span class=\"muted\">{}, {} to revoke, {} to move</span></summary>",
        plural(r.findings.len(), "finding", "findings"),
        plural(t.credentials, "credential", "credentials"),
        plural(t.publish_jobs, "publish job", "publish jobs"),
    );
    if r.repository.url.is_some() || r.repository.commit.is_some() {
        out.push_str("<p class=\"meta\">");
        if let Some(url) = &r.repository.url {
            out.push_str("<a href=\"");
            esc(out, url);
            out.push_str("\">");
            esc(out, url);
            out.push_str("</a> ");
        }
        if r.repository.commit.is_some() {
            out.push_str("at ");
            commit(out, r);
        }
        out.push_str("</p>");
    }
    for (action, tasks) in list {
        let _ = write!(
            out,
            "<section class=\"action action-{}\"><h4>{} ({})</h4><p class=\"advice\">",
            action.slug(),
            action.heading(),
            tasks.len()
        );
        rich(out, action.advice());
        out.push_str("</p><ul class=\"tasks\">");
        for t in tasks {
            task(out, t);
        }
        out.push_str("</ul></section>");
    }
    if !r.errors.is_empty() {
        out.push_str("<section class=\"action action-unscanned\"><h4>Files that could not be scanned</h4><ul>");
        for e in &r.errors {
            out.push_str("<li><code>");
            esc(out, r.relative(&e.path));
            if let Some(line) = e.line {
                let _ = write!(out, ":{line}");
            }
            out.push_str("</code> ");
            esc(out, &e.message);
            out.push_str("</li>");
        }
        out.push_str("</ul></section>");
    }
    out.push_str("</details>");
    std::mem::take(out)
}

/// The page.
pub fn render(audit: &Audit) -> String {
    let lists = audit.checklists();
    let per_repo = audit.repo_totals(&lists);
    let totals = audit.totals(&per_repo);
    let mut out = String::with_capacity(64 * 1024 + audit.repos.len() * 2048);
    out.push_str(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><title>npm credential audit: ",
    );
    out.push_str(&plural(totals.repositories, "repository", "repositories"));
    out.push_str("</title><style>");
    out.push_str(STYLE);
    out.push_str("</style></head><body><header><h1>npm credential audit</h1><p class=\"meta\">");
    let _ = write!(
        out,
        "{}, {} scanned, {} ({}) by npm-auth-scan {}",
        plural(totals.repositories, "repository", "repositories"),
        plural(totals.files_scanned, "file", "files"),
        plural(totals.findings, "finding", "findings"),
        Severity::ALL
            .iter()
            .rev()
            .map(|s| format!("{} {}", totals.by_severity[*s as usize], s.as_str()))
            .collect::<Vec<_>>()
            .join(", "),
        env!("CARGO_PKG_VERSION")
    );
    out.push_str("</p></header>");
    if !audit.problems.is_empty() {
        out.push_str("<section class=\"problems\" id=\"problems\"><h2>Inputs not read</h2><ul>");
        for p in &audit.problems {
            out.push_str("<li>");
            esc(&mut out, p);
            out.push_str("</li>");
        }
        out.push_str("</ul></section>");
    }
    summary(&mut out, &totals);
    repo_table(&mut out, audit, &per_repo);
    out.push_str("<h2 id=\"checklist\">Migration checklist</h2>");
    let order = audit.checklist_order();
    if order.is_empty() {
        out.push_str("<p>Nothing to do: no repository has a finding.</p>");
    }
    let open = order.len() <= OPEN_UP_TO;
    let sections: Vec<String> = order
        .par_iter()
        .map(|&i| repo_section(audit, i, &per_repo[i], &lists[i], open))
        .collect();
    for section in sections {
        out.push_str(&section);
    }
    out.push_str("<script>");
    out.push_str(SCRIPT);
    out.push_str("</script></body></html>\n");
    super::scrubbed(out)
}
