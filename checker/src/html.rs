//! A self-contained HTML report: one timeline row per process, each
//! operation a box from call to return, and the linearization (or the
//! longest linearizable prefix) drawn through the boxes as linked points,
//! like porcupine's visualizer. Everything is inline (CSS, a few lines of
//! JS, SVG); no network access.
//!
//! Size is bounded: at most [`MAX_OPS`] operations are drawn (the focus
//! partition's first when there are more), and every description is cut
//! to [`MAX_TEXT`] characters, so a report stays a few megabytes at most.

use crate::check::{CheckReport, PartitionOutcome, Verdict};
use crate::explain::{describe_op, Explanation, Linearization};
use crate::history::Operation;
use crate::model::Model;
use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;

/// Most operations drawn in one report.
pub const MAX_OPS: usize = 5000;
/// Longest description (operation or state) written, in characters.
pub const MAX_TEXT: usize = 240;

const ROW: f64 = 30.0;
const BOX: f64 = 20.0;
const STEP: f64 = 7.0;
const LEFT: f64 = 70.0;
const PALETTE: [&str; 6] = ["#1f5fa8", "#2a8a3e", "#7a3fa0", "#b06a00", "#00807f", "#8a5a44"];

fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars().take(MAX_TEXT) {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    if text.chars().count() > MAX_TEXT {
        out.push('…');
    }
    out
}

/// What the report draws for one operation.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Role {
    /// Part of a drawn linearization or prefix.
    Linearized,
    /// The operation that could not be linearized.
    Stuck,
    /// Another candidate at the dead end.
    Candidate,
    /// In the focus partition, not reached.
    Pending,
    /// In another partition.
    Other,
}

/// One linearization to draw, with its partition and colour.
struct Path<'r> {
    lin: &'r Linearization,
    partition: usize,
    colour: &'static str,
}

/// Renders one history's report as an HTML `<section>` (wrap sections with
/// [`document`]).
pub fn render<M: Model>(
    model: &M,
    history: &[Operation<M::Input, M::Output>],
    report: &CheckReport,
    title: &str,
) -> String {
    // The focus: the refuted partition, else a stopped one with a dead end.
    let focus: Option<(usize, &Explanation)> =
        report.partitions.iter().enumerate().find_map(|(i, p)| match &p.outcome {
            PartitionOutcome::NotLinearizable(e) => Some((i, e)),
            _ => None,
        });
    let focus = focus.or_else(|| {
        report.partitions.iter().enumerate().find_map(|(i, p)| match &p.outcome {
            PartitionOutcome::Unknown(Some(e)) => Some((i, e)),
            _ => None,
        })
    });
    let mut paths: Vec<Path<'_>> = Vec::new();
    let mut role: HashMap<usize, Role> = HashMap::new();
    let mut partition_of: HashMap<usize, usize> = HashMap::new();
    for (i, p) in report.partitions.iter().enumerate() {
        for &op in &p.ops {
            partition_of.insert(op, i);
            role.insert(op, if focus.is_some_and(|(f, _)| f == i) { Role::Pending } else { Role::Other });
        }
    }
    if let Some((f, e)) = focus {
        paths.push(Path { lin: &e.prefix, partition: f, colour: "#1f5fa8" });
        for c in &e.candidates {
            role.insert(c.op, Role::Candidate);
        }
        role.insert(e.stuck, Role::Stuck);
    } else {
        for (i, p) in report.partitions.iter().enumerate() {
            if let PartitionOutcome::Linearizable(Some(lin)) = &p.outcome {
                paths.push(Path { lin, partition: i, colour: PALETTE[i % PALETTE.len()] });
            }
        }
    }
    // State after each linearized operation, for tooltips.
    let mut step_of: HashMap<usize, (usize, &str)> = HashMap::new();
    for path in &paths {
        for (k, &op) in path.lin.order.iter().enumerate() {
            step_of.insert(op, (k, path.lin.states[k].as_str()));
            role.insert(op, Role::Linearized);
        }
    }
    // Which operations to draw.
    // Which operations to draw: only the focus partition's when there is
    // one (the other partitions are independent of it), at most MAX_OPS.
    let mut drawn: Vec<usize> = match focus {
        Some((f, _)) if report.partitions.len() > 1 => report.partitions[f].ops.clone(),
        _ => (0..history.len()).collect(),
    };
    let mut note = String::new();
    if drawn.len() < history.len() {
        let _ = write!(
            note,
            "Showing only the partition explained below ({} of {} operations; partitions are independent). ",
            drawn.len(),
            history.len()
        );
    }
    if drawn.len() > MAX_OPS {
        let _ = write!(note, "Showing the first {MAX_OPS} of {} operations. ", drawn.len());
        drawn.truncate(MAX_OPS);
    }
    // Times compressed to ranks, so that every box is visible.
    let mut times: Vec<u64> = drawn.iter().flat_map(|&i| [Some(history[i].call), history[i].ret]).flatten().collect();
    times.sort_unstable();
    times.dedup();
    let rank = |t: u64| times.binary_search(&t).unwrap_or(0) as f64;
    let end_rank = times.len() as f64 + 1.0;
    let mut processes: Vec<u64> = drawn.iter().map(|&i| history[i].process).collect();
    processes.sort_unstable();
    processes.dedup();
    let row_of: BTreeMap<u64, usize> = processes.iter().enumerate().map(|(r, &p)| (p, r)).collect();
    let x = |r: f64| LEFT + r * STEP;
    let width = x(end_rank) + 20.0;
    let height = processes.len() as f64 * ROW + 30.0;

    let mut svg = String::new();
    let _ = write!(svg, r#"<svg xmlns="http://www.w3.org/2000/svg" width="{width:.0}" height="{height:.0}">"#);
    for (&p, &r) in &row_of {
        let y = r as f64 * ROW + 20.0;
        let _ = write!(
            svg,
            r#"<text class="proc" x="4" y="{:.0}">p{p}</text><line class="lane" x1="{LEFT}" x2="{width:.0}" y1="{:.0}" y2="{:.0}"/>"#,
            y + BOX * 0.7,
            y + BOX / 2.0,
            y + BOX / 2.0
        );
    }
    let mut boxes: HashMap<usize, (f64, f64, f64)> = HashMap::new();
    for &i in &drawn {
        let op = &history[i];
        let y = row_of[&op.process] as f64 * ROW + 20.0;
        let (x0, x1) = (x(rank(op.call)), op.ret.map_or(x(end_rank), |r| x(rank(r)) + STEP * 0.8));
        boxes.insert(i, (x0, x1, y));
        let class = match role.get(&i).copied().unwrap_or(Role::Other) {
            Role::Linearized => "op lin",
            Role::Stuck => "op stuck",
            Role::Candidate => "op cand",
            Role::Pending => "op pend",
            Role::Other => "op other",
        };
        let open = if op.ret.is_none() { " open" } else { "" };
        let mut tip = describe_op(model, op);
        let _ = write!(tip, "\ncall {} return {}", op.call, op.ret.map_or("never".to_string(), |r| r.to_string()));
        if let Some(p) = partition_of.get(&i).and_then(|&p| report.partitions[p].key.as_ref()) {
            let _ = write!(tip, "\npartition {p:?}");
        }
        if let Some((k, state)) = step_of.get(&i) {
            let _ = write!(tip, "\nlinearized as step {}; state after: {state}", k + 1);
        }
        let id = if role.get(&i) == Some(&Role::Stuck) { r#" id="first-error""# } else { "" };
        let _ = write!(
            svg,
            r#"<g class="{class}{open}"{id} data-p="{}"><title>{}</title><rect x="{x0:.1}" y="{y:.0}" width="{:.1}" height="{BOX}" rx="3"/>"#,
            partition_of.get(&i).copied().unwrap_or(0),
            escape(&tip),
            (x1 - x0).max(2.0)
        );
        let chars = ((x1 - x0) / 6.5) as usize;
        if chars >= 4 {
            let label: String = model.describe_operation(&op.input, op.output.as_ref()).chars().take(chars).collect();
            let _ = write!(svg, r#"<text x="{:.1}" y="{:.0}">{}</text>"#, x0 + 3.0, y + BOX * 0.7, escape(&label));
        }
        svg.push_str("</g>");
    }
    // Linearization points: increasing, inside each box.
    for path in &paths {
        let mut last = 0.0f64;
        let mut points = Vec::new();
        for &op in &path.lin.order {
            let Some(&(x0, x1, y)) = boxes.get(&op) else {
                continue;
            };
            let px = (last + 2.0).max(x0 + 2.0).min(x1 - 1.0);
            last = px;
            points.push((px, y + BOX / 2.0));
        }
        let line: Vec<String> = points.iter().map(|(px, py)| format!("{px:.1},{py:.0}")).collect();
        let _ = write!(
            svg,
            r#"<g class="path" data-p="{}"><polyline class="lp" stroke="{}" points="{}"/>"#,
            path.partition,
            path.colour,
            line.join(" ")
        );
        for (px, py) in &points {
            let _ = write!(svg, r#"<circle cx="{px:.1}" cy="{py:.0}" r="3" fill="{}"/>"#, path.colour);
        }
        svg.push_str("</g>");
    }
    svg.push_str("</svg>");

    let verdict = match report.verdict {
        Verdict::Linearizable => "linearizable",
        Verdict::NotLinearizable => "NOT linearizable",
        Verdict::Unknown => "unknown (stopped by a limit)",
    };
    let mut html = String::new();
    let _ = write!(html, "<section><h2>{}: {verdict}</h2>", escape(title));
    let _ =
        write!(html, "<p>{} operations, {} partition(s). {}", history.len(), report.partitions.len(), escape(&note));
    if let Some((f, e)) = focus {
        let name = report.partitions[f].key.as_ref().map_or("The history".to_string(), |k| format!("Partition {k:?}"));
        let _ = write!(
            html,
            r##"{} ({} ops): longest linearizable prefix of {} operation(s), drawn in blue; the operation that cannot come next is red, other candidates orange. <a href="#first-error" onclick="document.getElementById('first-error').scrollIntoView({{inline:'center'}});return false">[jump to the first error]</a></p>"##,
            escape(&name),
            report.partitions[f].ops.len(),
            e.prefix.order.len()
        );
        html.push_str(&explanation_list(model, history, e));
    } else {
        html.push_str("Each partition's linearization is drawn as linked points.</p>");
        if paths.len() > 1 {
            html.push_str(
                r#"<p>Show partition: <select class="pick" onchange="pick(this)"><option value="">all</option>"#,
            );
            for path in &paths {
                let key = report.partitions[path.partition].key.as_deref().unwrap_or("all");
                let _ = write!(html, r#"<option value="{}">{}</option>"#, path.partition, escape(key));
            }
            html.push_str("</select> (or click an operation)</p>");
        }
    }
    let _ = write!(html, r#"<div class="timeline">{svg}</div></section>"#);
    html
}

fn explanation_list<M: Model>(model: &M, history: &[Operation<M::Input, M::Output>], e: &Explanation) -> String {
    let mut out = String::from("<details open><summary>Explanation</summary><ol class=\"expl\">");
    let n = e.prefix.order.len();
    let shown = 10.min(n);
    let _ = write!(out, "<li>initial state {}</li>", escape(&e.prefix.initial_state));
    if n > shown {
        let _ = write!(out, "<li>… {} earlier operations …</li>", n - shown);
    }
    for k in n - shown..n {
        let _ = write!(
            out,
            "<li>{} → {}</li>",
            escape(&describe_op(model, &history[e.prefix.order[k]])),
            escape(&e.prefix.states[k])
        );
    }
    let _ = write!(out, "</ol><p>State after the prefix: <code>{}</code></p>", escape(e.state()));
    let _ = write!(
        out,
        "<p>Must come next but cannot: <code class=\"bad\">{}</code></p><ul>",
        escape(&describe_op(model, &history[e.stuck]))
    );
    for c in &e.candidates {
        let why = c.reason();
        let _ = write!(out, "<li><code>{}</code>: {why}</li>", escape(&describe_op(model, &history[c.op])));
    }
    out.push_str("</ul></details>");
    out
}

/// Wraps report sections into one self-contained HTML document.
pub fn document(sections: &[String]) -> String {
    let mut html = String::from(concat!(
        "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>raftcheck lin report</title><style>",
        "body{font-family:sans-serif;margin:16px;color:#222}h2{font-size:18px}",
        ".timeline{overflow-x:auto;border:1px solid #ccc;background:#fafafa}",
        "svg text{font-family:monospace;font-size:11px;pointer-events:none}.proc{font-weight:bold}",
        ".lane{stroke:#e4e4e4}.op rect{stroke:#555;stroke-width:1}",
        ".lin rect{fill:#cfe0f5}.stuck rect{fill:#f29a9a;stroke:#b00;stroke-width:2}.cand rect{fill:#f7cf8f}",
        ".pend rect{fill:#fff}.other rect{fill:#eee;stroke:#bbb}.other text{fill:#999}.open rect{stroke-dasharray:4 2}",
        ".op:hover rect{stroke:#000;stroke-width:2}.lp{fill:none;stroke-width:1.5;opacity:.8}",
        ".bad{color:#b00}code{background:#f3f3f3;padding:1px 3px}.hidden{display:none}.dim{opacity:.2}",
        "</style><script>",
        "function pick(sel){var p=sel.value;sel.closest('section').querySelectorAll('[data-p]').forEach(function(e){",
        "var show=p===''||e.getAttribute('data-p')===p;e.classList.toggle(e.classList.contains('path')?'hidden':'dim',!show);});}",
        "document.addEventListener('click',function(ev){var g=ev.target.closest&&ev.target.closest('g[data-p]');if(!g)return;",
        "var sel=g.closest('section').querySelector('select.pick');if(!sel)return;sel.value=g.getAttribute('data-p');pick(sel);});",
        "</script></head><body><h1>raftcheck lin</h1>",
        "<p>One row per process; each box is an operation from its call to its return (dashed: never returned). ",
        "Hover over a box for details.</p>"
    ));
    for s in sections {
        html.push_str(s);
    }
    html.push_str("</body></html>\n");
    html
}
