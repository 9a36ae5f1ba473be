//! What a benchmark run found: the data (JSON), the table people read, and a plot (SVG).

use std::fmt::Write;

use serde::{Deserialize, Serialize};

use super::goals::Goal;
use super::histogram::Summary;
use super::servers::FLOOR;

/// p99 latency a rate must hold to count (the goal's bound).
pub const P99_BOUND_MS: f64 = 100.0;

/// One step of a fan-out ladder.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct FanoutStep {
    /// Receivers in the room.
    pub receivers: usize,
    /// Messages sent per second by the one sender.
    pub sent_per_s: f64,
    /// Messages received per second, all receivers together.
    pub delivered_per_s: f64,
    /// Share of the expected deliveries that arrived in the step.
    pub delivered_ratio: f64,
    /// Send-to-receive latency.
    pub latency: Summary,
    /// CPU seconds the server used in the step.
    pub server_cpu_s: f64,
    /// CPU seconds this load generator used in the step.
    pub loadgen_cpu_s: f64,
    /// How long the step sent for (older runs did not record it: 0).
    #[serde(default)]
    pub seconds: f64,
}

impl FanoutStep {
    /// Whether the step counts: p99 within the bound and (nearly) everything delivered.
    pub fn holds(&self) -> bool {
        self.latency.p99_ms <= P99_BOUND_MS && self.delivered_ratio >= 0.99
    }

    /// Server CPU time per delivered message, in µs (user + system, from /proc).
    pub fn server_cpu_us_per_delivery(&self) -> Option<f64> {
        let delivered = self.delivered_per_s * self.seconds;
        (delivered > 0.0).then(|| self.server_cpu_s * 1e6 / delivered)
    }
}

/// Everything measured on one server.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct ServerReport {
    /// Which server.
    pub name: String,
    /// Every fan-out step, ladder by ladder.
    pub fanout: Vec<FanoutStep>,
    /// (idle connections, RSS per connection in KB).
    pub idle_kb_per_connection: Vec<(usize, f64)>,
    /// Messages stored and acknowledged per second.
    pub stored_per_s: Option<f64>,
    /// Milliseconds for a client back after 10 000 missed messages to have them all.
    pub catch_up_ms: Option<f64>,
    /// The moderate load: one step per receiver count at a fixed, low rate.
    #[serde(default)]
    pub moderate: Vec<FanoutStep>,
    /// Ours only: one step per receiver count at the official server's best fan-out rate.
    #[serde(default)]
    pub at_rival_rate: Vec<FanoutStep>,
}

impl ServerReport {
    /// The highest delivered rate that held, with `receivers` receivers.
    pub fn best_fanout(&self, receivers: usize) -> Option<&FanoutStep> {
        self.fanout
            .iter()
            .filter(|s| s.receivers == receivers && s.holds())
            .max_by(|a, b| a.delivered_per_s.total_cmp(&b.delivered_per_s))
    }
}

/// A whole run.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Report {
    /// When: seconds since the Unix epoch.
    pub at: String,
    /// `nproc`, memory, for context.
    pub machine: String,
    /// Ours first, then the peers.
    pub servers: Vec<ServerReport>,
    /// Release WASM + JS + CSS: (raw bytes, gzip bytes).
    pub wasm_js_css: Option<(u64, u64)>,
}

/// A row of the table: a label, our figure, the official server's, and whether more is better.
struct Row {
    label: String,
    ours: Option<f64>,
    theirs: Option<f64>,
    bare: Option<f64>,
    /// The floor server's (`floor.rs`), in a column of its own.
    floor: Option<f64>,
    unit: &'static str,
    higher_is_better: bool,
    /// A cost with a goal ([`Goal`]: CPU per delivery, memory per idle connection).
    has_goal: bool,
}

impl Report {
    /// The receiver counts measured, in order: whatever `--receivers` asked for.
    fn receiver_counts(&self) -> Vec<usize> {
        let mut counts: Vec<usize> = self.servers.iter().flat_map(|s| s.fanout.iter().map(|f| f.receivers)).collect();
        counts.sort_unstable();
        counts.dedup();
        counts
    }

    /// The idle connection counts measured, in order: whatever `--idle` asked for.
    fn idle_counts(&self) -> Vec<usize> {
        let mut counts: Vec<usize> =
            self.servers.iter().flat_map(|s| s.idle_kb_per_connection.iter().map(|(n, _)| *n)).collect();
        counts.sort_unstable();
        counts.dedup();
        counts
    }

    /// The receiver counts of the moderate load, in order.
    fn moderate_counts(&self) -> Vec<usize> {
        let mut counts: Vec<usize> = self.servers.iter().flat_map(|s| s.moderate.iter().map(|f| f.receivers)).collect();
        counts.sort_unstable();
        counts.dedup();
        counts
    }

    /// The receiver counts measured at the official server's best rate, in order.
    fn rival_counts(&self) -> Vec<usize> {
        let mut counts: Vec<usize> =
            self.servers.iter().flat_map(|s| s.at_rival_rate.iter().map(|f| f.receivers)).collect();
        counts.sort_unstable();
        counts.dedup();
        counts
    }

    /// The servers of the first columns (ours, the official server, without store), in
    /// the order they ran: every one but the floor.
    fn columns(&self) -> Vec<&ServerReport> {
        self.servers.iter().filter(|s| s.name != FLOOR).collect()
    }

    /// The floor server's figures, when it ran.
    fn floor(&self) -> Option<&ServerReport> {
        self.servers.iter().find(|s| s.name == FLOOR)
    }

    fn rows(&self) -> Vec<Row> {
        let columns = self.columns();
        let get = |i: usize| columns.get(i).copied();
        let floor = self.floor();
        let mut rows = Vec::new();
        for receivers in self.receiver_counts() {
            let best = |i: usize| get(i).and_then(|s| s.best_fanout(receivers)).map(|s| s.delivered_per_s);
            rows.push(Row {
                label: format!("fan-out, {receivers} receivers, p99 <= 100 ms"),
                ours: best(0),
                theirs: best(1),
                bare: best(2),
                floor: floor.and_then(|s| s.best_fanout(receivers)).map(|s| s.delivered_per_s),
                unit: "deliveries/s",
                higher_is_better: true,
                has_goal: false,
            });
        }
        for receivers in self.moderate_counts() {
            let step = |i: usize| get(i).and_then(|s| s.moderate.iter().find(|f| f.receivers == receivers));
            let floor_step = floor.and_then(|s| s.moderate.iter().find(|f| f.receivers == receivers));
            let rate = step(0).or(step(1)).or(floor_step).map_or(0.0, |s| s.sent_per_s);
            rows.push(Row {
                label: format!("server CPU per delivery, {receivers} receivers, {rate:.0} msg/s"),
                ours: step(0).and_then(FanoutStep::server_cpu_us_per_delivery),
                theirs: step(1).and_then(FanoutStep::server_cpu_us_per_delivery),
                bare: step(2).and_then(FanoutStep::server_cpu_us_per_delivery),
                floor: floor_step.and_then(FanoutStep::server_cpu_us_per_delivery),
                unit: "µs",
                higher_is_better: false,
                has_goal: true,
            });
        }
        for receivers in self.rival_counts() {
            let ours = get(0).and_then(|s| s.at_rival_rate.iter().find(|f| f.receivers == receivers));
            let theirs = get(1).and_then(|s| s.best_fanout(receivers));
            rows.push(Row {
                label: format!("p99 at official's best rate, {receivers} receivers"),
                ours: ours.map(|s| s.latency.p99_ms),
                theirs: theirs.map(|s| s.latency.p99_ms),
                bare: None,
                floor: None,
                unit: "ms",
                higher_is_better: false,
                has_goal: false,
            });
        }
        for conns in self.idle_counts() {
            let kb_of =
                |s: &ServerReport| s.idle_kb_per_connection.iter().find(|(n, _)| *n == conns).map(|(_, kb)| *kb);
            let kb = |i: usize| get(i).and_then(kb_of);
            rows.push(Row {
                label: format!("memory per idle connection, {conns} connections"),
                ours: kb(0),
                theirs: kb(1),
                bare: kb(2),
                floor: floor.and_then(kb_of),
                unit: "KB",
                higher_is_better: false,
                has_goal: true,
            });
        }
        rows.push(Row {
            label: "stored and acknowledged".into(),
            ours: get(0).and_then(|s| s.stored_per_s),
            theirs: get(1).and_then(|s| s.stored_per_s),
            bare: None,
            floor: None,
            unit: "messages/s",
            higher_is_better: true,
            has_goal: false,
        });
        rows.push(Row {
            label: "catch-up after 10 000 missed".into(),
            ours: get(0).and_then(|s| s.catch_up_ms),
            theirs: get(1).and_then(|s| s.catch_up_ms),
            bare: None,
            floor: None,
            unit: "ms",
            higher_is_better: false,
            has_goal: false,
        });
        rows
    }

    /// The table: our figure, the official server's, and how many times better ours is.
    pub fn table(&self) -> String {
        let mut out = String::new();
        let names: Vec<&str> = self.columns().iter().map(|s| s.name.as_str()).collect();
        let _ = writeln!(
            out,
            "{:<46} {:>14} {:>14} {:>8} {:>14} {:>10}",
            "measure",
            names.first().copied().unwrap_or("ours"),
            names.get(1).copied().unwrap_or("official"),
            "ratio",
            names.get(2).copied().unwrap_or(""),
            if self.floor().is_some() { FLOOR } else { "" }
        );
        let cell = |v: Option<f64>| v.map_or("-".to_owned(), |v| format!("{v:.1}"));
        for row in self.rows() {
            let ratio = match (row.ours, row.theirs) {
                (Some(o), Some(t)) if o > 0.0 && t > 0.0 => {
                    format!("{:.2}x", if row.higher_is_better { o / t } else { t / o })
                }
                _ => "-".into(),
            };
            let _ = writeln!(
                out,
                "{:<46} {:>14} {:>14} {:>8} {:>14} {:>10}  {}",
                row.label,
                cell(row.ours),
                cell(row.theirs),
                ratio,
                cell(row.bare),
                cell(row.floor),
                row.unit
            );
        }
        if let Some((raw, gz)) = self.wasm_js_css {
            let _ = writeln!(
                out,
                "{:<46} {:>14}  (raw {:.1} KB)",
                "release WASM + JS + CSS, gzip",
                format!("{:.1} KB", gz as f64 / 1024.0),
                raw as f64 / 1024.0
            );
        }
        out.push_str("ratio: how many times better ours is (higher deliveries, lower memory and times).\n");
        out.push_str(&self.goals());
        out.push_str(&self.best_steps());
        out
    }

    /// For each cost with a goal: the goal ([`Goal`]: half the official server's figure, or
    /// the floor's + 10 % where that is higher) and whether ours meets it.
    fn goals(&self) -> String {
        let columns = self.columns();
        let ours_name = columns.first().map_or("ours", |s| s.name.as_str());
        let rows: Vec<Row> = self.rows().into_iter().filter(|r| r.has_goal).collect();
        if rows.is_empty() {
            return String::new();
        }
        let mut out = String::from(
            "\ngoals: at most half the official server's figure, or the floor's + 10 % where that is higher\n",
        );
        for row in rows {
            let Some(official) = row.theirs else {
                let _ = writeln!(out, "{:<46} no goal: the official server was not measured", row.label);
                continue;
            };
            let goal = Goal::new(official, row.floor);
            let basis = match (row.floor, goal.near_floor) {
                (Some(floor), Some(near)) => format!(
                    "half official {:.1}, floor {floor:.1} + 10 % = {near:.1}: set by {}",
                    goal.half_official,
                    if goal.set_by_floor() { "the floor" } else { "the official server" }
                ),
                _ => format!("half official {:.1}, floor not measured", goal.half_official),
            };
            let verdict = match row.ours {
                Some(ours) if goal.met_by(ours) => format!("{ours_name} {ours:.1}: met"),
                Some(ours) => format!("{ours_name} {ours:.1}: NOT met"),
                None => format!("{ours_name} not measured"),
            };
            let _ = writeln!(out, "{:<46} <= {:.1} {} ({basis}); {verdict}", row.label, goal.target(), row.unit);
        }
        out
    }

    /// Each server's best fan-out step in full, with the CPU the server and the load
    /// generator used during it: the load generator must cost less than the server, or the
    /// figure measures the machine.
    fn best_steps(&self) -> String {
        let mut out = String::from("\nbest fan-out steps (CPU seconds during the step: server / load generator)\n");
        let receiver_counts = self.receiver_counts();
        for server in &self.servers {
            for &receivers in &receiver_counts {
                let Some(step) = server.best_fanout(receivers) else { continue };
                let _ = writeln!(
                    out,
                    "{:<18} {receivers:>5} receivers {:>11.0} deliveries/s  p50 {:>6.1} ms  p99 {:>6.1} ms  max {:>6.1} ms  cpu {:.1} / {:.1} s",
                    server.name,
                    step.delivered_per_s,
                    step.latency.p50_ms,
                    step.latency.p99_ms,
                    step.latency.max_ms,
                    step.server_cpu_s,
                    step.loadgen_cpu_s
                );
            }
        }
        let fixed: Vec<(&str, &str, &FanoutStep)> = self
            .servers
            .iter()
            .flat_map(|s| {
                let moderate = s.moderate.iter().map(move |f| (s.name.as_str(), "moderate", f));
                moderate.chain(s.at_rival_rate.iter().map(move |f| (s.name.as_str(), "at official's best", f)))
            })
            .collect();
        if !fixed.is_empty() {
            out.push_str(
                "
fixed-rate steps (server CPU per delivery; CPU seconds: server / load generator)
",
            );
        }
        for (name, what, step) in fixed {
            let _ = writeln!(
                out,
                "{name:<18} {what:<18} {:>5} receivers {:>6.0} msg/s {:>9.0} deliveries/s  p50 {:>6.1} ms  p99 {:>6.1} ms  {:>5.2} µs/delivery  cpu {:.2} / {:.2} s",
                step.receivers,
                step.sent_per_s,
                step.delivered_per_s,
                step.latency.p50_ms,
                step.latency.p99_ms,
                step.server_cpu_us_per_delivery().unwrap_or(f64::NAN),
                step.server_cpu_s,
                step.loadgen_cpu_s
            );
        }
        out
    }

    /// A plot of p99 latency against deliveries per second, one line per server and
    /// receiver count, readable without the JSON.
    pub fn svg(&self) -> String {
        let (w, h, left, bottom, top, right) = (900.0, 520.0, 70.0, 60.0, 40.0, 230.0);
        let receiver_counts = self.receiver_counts();
        let series: Vec<(String, Vec<(f64, f64)>)> = self
            .servers
            .iter()
            .flat_map(|s| {
                receiver_counts.iter().map(move |&r| {
                    let points: Vec<(f64, f64)> = s
                        .fanout
                        .iter()
                        .filter(|f| f.receivers == r)
                        .map(|f| (f.delivered_per_s, f.latency.p99_ms.min(500.0)))
                        .collect();
                    (format!("{} ({r} receivers)", s.name), points)
                })
            })
            .filter(|(_, p)| !p.is_empty())
            .collect();
        // Deliveries span two orders of magnitude between servers: a log axis keeps both legible.
        let xs: Vec<f64> = series.iter().flat_map(|(_, p)| p.iter().map(|(x, _)| *x)).filter(|v| *v >= 1.0).collect();
        let min_x = 10f64.powf(xs.iter().copied().fold(f64::MAX, f64::min).min(1e4).log10().floor());
        let max_x = 10f64.powf(xs.iter().copied().fold(1.0, f64::max).log10().ceil()).max(min_x * 10.0);
        let max_y = 500.0;
        let span = max_x.log10() - min_x.log10();
        let x = |v: f64| left + (v.max(min_x).log10() - min_x.log10()) / span * (w - left - right);
        let y = |v: f64| h - bottom - v / max_y * (h - top - bottom);
        let colors = ["#3b5bdb", "#74c0fc", "#e8590c", "#ffa94d", "#2f9e44", "#8ce99a"];
        let mut svg = format!(
            r##"<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" font-family="sans-serif" font-size="12">
<rect width="100%" height="100%" fill="white"/>
<text x="{left}" y="22" font-size="15">p99 latency vs deliveries/s, one sender fanning out (latency capped at 500 ms)</text>
<line x1="{left}" y1="{b}" x2="{r}" y2="{b}" stroke="black"/>
<line x1="{left}" y1="{top}" x2="{left}" y2="{b}" stroke="black"/>
<line x1="{left}" y1="{bound}" x2="{r}" y2="{bound}" stroke="#c92a2a" stroke-dasharray="4 4"/>
<text x="{r2}" y="{bound}" fill="#c92a2a">p99 = 100 ms</text>
<text x="{xl}" y="{xly}" text-anchor="middle">deliveries per second (log scale)</text>
<text x="16" y="{ym}" transform="rotate(-90 16 {ym})" text-anchor="middle">p99 latency (ms)</text>
"##,
            b = h - bottom,
            r = w - right,
            bound = y(P99_BOUND_MS),
            r2 = w - right + 4.0,
            xl = (left + w - right) / 2.0,
            xly = h - 15.0,
            ym = (top + h - bottom) / 2.0,
        );
        let mut decade = min_x;
        while decade < max_x * 1.01 {
            for tick in [1.0, 2.0, 5.0].map(|m| m * decade).into_iter().filter(|v| *v <= max_x * 1.01) {
                let _ = writeln!(
                    svg,
                    r##"<line x1="{0:.1}" y1="{1:.1}" x2="{0:.1}" y2="{2:.1}" stroke="#eee"/><text x="{0:.1}" y="{3:.1}" text-anchor="middle">{4}</text>"##,
                    x(tick),
                    top,
                    h - bottom,
                    h - bottom + 18.0,
                    short_number(tick)
                );
            }
            decade *= 10.0;
        }
        for i in 0..=5 {
            let vy = max_y * i as f64 / 5.0;
            let _ = writeln!(
                svg,
                r#"<text x="{:.1}" y="{:.1}" text-anchor="end">{:.0}</text>"#,
                left - 6.0,
                y(vy) + 4.0,
                vy
            );
        }
        for (i, (name, points)) in series.iter().enumerate() {
            let color = colors[i % colors.len()];
            let path: Vec<String> = points.iter().map(|(px, py)| format!("{:.1},{:.1}", x(*px), y(*py))).collect();
            let _ = writeln!(
                svg,
                r#"<polyline fill="none" stroke="{color}" stroke-width="2" points="{}"/>"#,
                path.join(" ")
            );
            for (px, py) in points {
                let _ = writeln!(svg, r#"<circle cx="{:.1}" cy="{:.1}" r="3" fill="{color}"/>"#, x(*px), y(*py));
            }
            let ly = top + 20.0 + i as f64 * 20.0;
            let _ = writeln!(
                svg,
                r#"<rect x="{:.1}" y="{:.1}" width="12" height="12" fill="{color}"/><text x="{:.1}" y="{:.1}">{name}</text>"#,
                w - right + 10.0,
                ly - 10.0,
                w - right + 28.0,
                ly
            );
        }
        svg.push_str("</svg>\n");
        svg
    }
}

/// 20000 → "20k", 1500000 → "1.5M".
fn short_number(v: f64) -> String {
    let (value, suffix) = match v {
        v if v >= 1e6 => (v / 1e6, "M"),
        v if v >= 1e3 => (v / 1e3, "k"),
        v => (v, ""),
    };
    let digits = if value.fract() == 0.0 { 0 } else { 1 };
    format!("{value:.digits$}{suffix}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn step(receivers: usize, delivered: f64, p99: f64) -> FanoutStep {
        FanoutStep {
            receivers,
            sent_per_s: delivered / receivers as f64,
            delivered_per_s: delivered,
            delivered_ratio: 1.0,
            latency: Summary { count: 1, p50_ms: p99 / 2.0, p99_ms: p99, max_ms: p99 },
            server_cpu_s: 1.0,
            loadgen_cpu_s: 0.5,
            seconds: 4.0,
        }
    }

    #[test]
    fn any_receiver_count_asked_for_gets_its_row_and_line() {
        let ours =
            ServerReport { name: "ours".into(), fanout: vec![step(250, 9000.0, 10.0)], ..ServerReport::default() };
        let report = Report { servers: vec![ours], ..Report::default() };
        assert!(report.table().lines().any(|l| l.starts_with("fan-out, 250 receivers") && l.contains("9000.0")));
        assert!(report.svg().contains("ours (250 receivers)"));
    }

    #[test]
    fn moderate_load_and_rival_rate_rows_compare_cpu_per_delivery_and_p99() {
        // 1 000 receivers, 50 msg/s for 4 s: 200 000 deliveries; 1 s of CPU is 5 µs each.
        let moderate = |cpu: f64| FanoutStep { server_cpu_s: cpu, ..step(1000, 50_000.0, 8.0) };
        let ours = ServerReport {
            name: "ours".into(),
            moderate: vec![moderate(1.0)],
            at_rival_rate: vec![step(1000, 50_000.0, 3.0)],
            ..ServerReport::default()
        };
        let theirs = ServerReport {
            name: "official".into(),
            fanout: vec![step(1000, 50_000.0, 12.0)],
            moderate: vec![moderate(2.5)],
            ..ServerReport::default()
        };
        let table = Report { servers: vec![ours, theirs], ..Report::default() }.table();
        let cpu = table
            .lines()
            .find(|l| l.starts_with("server CPU per delivery, 1000 receivers, 50 msg/s"))
            .expect("{table}");
        assert!(cpu.contains(" 5.0 ") && cpu.contains("12.5") && cpu.contains("2.50x"), "{cpu}");
        let p99 =
            table.lines().find(|l| l.starts_with("p99 at official's best rate, 1000 receivers")).expect("{table}");
        assert!(p99.contains("3.0") && p99.contains("12.0") && p99.contains("4.00x"), "{p99}");
    }

    #[test]
    fn the_floor_has_its_own_column_and_sets_the_goal_where_half_the_official_figure_is_below_it() {
        // 1 000 receivers, 50 msg/s for 4 s: 200 000 deliveries; 1 s of CPU is 5 µs each.
        let moderate = |cpu: f64| FanoutStep { server_cpu_s: cpu, ..step(1000, 50_000.0, 8.0) };
        let server = |name: &str, cpu: f64, kb: f64| ServerReport {
            name: name.into(),
            moderate: vec![moderate(cpu)],
            idle_kb_per_connection: vec![(10_000, kb)],
            ..ServerReport::default()
        };
        // The floor ran first here: it still gets the floor column, not the official one.
        let report = Report {
            servers: vec![server(FLOOR, 1.3, 6.6), server("ours", 1.5, 7.5), server("official", 2.0, 15.4)],
            ..Report::default()
        };
        let table = report.table();
        let cpu = table.lines().find(|l| l.starts_with("server CPU per delivery, 1000")).expect("{table}");
        assert!(cpu.contains(" 7.5 ") && cpu.contains(" 10.0 ") && cpu.contains("1.33x"), "{cpu}");
        assert!(cpu.trim_end().ends_with("6.5  µs"), "{cpu}");
        // CPU: half of 10 µs is 5, below the floor's 6.5 + 10 % = 7.15: ours (7.5) misses it.
        let goals: Vec<&str> = table.lines().filter(|l| l.contains(" <= ")).collect();
        assert_eq!(goals.len(), 2, "{table}");
        assert!(goals[0].contains("<= 7.2 µs") && goals[0].contains("set by the floor"), "{}", goals[0]);
        assert!(goals[0].ends_with("ours 7.5: NOT met"), "{}", goals[0]);
        // Memory: half of 15.4 KB is 7.7, above the floor's 6.6 + 10 % = 7.26: ours (7.5) meets it.
        assert!(goals[1].contains("<= 7.7 KB") && goals[1].contains("set by the official server"), "{}", goals[1]);
        assert!(goals[1].ends_with("ours 7.5: met"), "{}", goals[1]);
        // Without the official server there is no goal to meet.
        let alone = Report { servers: vec![server("ours", 1.5, 7.5), server(FLOOR, 1.3, 6.6)], ..Report::default() };
        assert!(alone.table().contains("no goal: the official server was not measured"), "{}", alone.table());
    }

    #[test]
    fn axis_numbers_are_short() {
        assert_eq!(short_number(20_000.0), "20k");
        assert_eq!(short_number(1_500_000.0), "1.5M");
        assert_eq!(short_number(500.0), "500");
    }

    #[test]
    fn the_best_rate_is_the_highest_that_held() {
        let report = ServerReport {
            name: "x".into(),
            fanout: vec![step(100, 1000.0, 5.0), step(100, 2000.0, 40.0), step(100, 4000.0, 300.0)],
            ..ServerReport::default()
        };
        assert_eq!(report.best_fanout(100).map(|s| s.delivered_per_s), Some(2000.0));
        assert!(report.best_fanout(1000).is_none());
    }

    #[test]
    fn the_table_gives_ratios_in_our_favour_when_we_do_better() {
        let ours = ServerReport {
            name: "ours".into(),
            fanout: vec![step(100, 5000.0, 10.0)],
            idle_kb_per_connection: vec![(5000, 9.0)],
            ..ServerReport::default()
        };
        let theirs = ServerReport {
            name: "official".into(),
            fanout: vec![step(100, 1000.0, 10.0)],
            idle_kb_per_connection: vec![(5000, 18.0)],
            ..ServerReport::default()
        };
        let report = Report { servers: vec![ours, theirs], ..Report::default() };
        let table = report.table();
        assert!(table.lines().any(|l| l.starts_with("fan-out, 100 receivers") && l.contains("5.00x")), "{table}");
        assert!(table.lines().any(|l| l.contains("5000 connections") && l.contains("2.00x")), "{table}");
        assert!(report.svg().contains("<polyline"));
        // Only the counts that were measured get a row.
        assert!(!table.contains("1000 receivers"), "{table}");
        assert!(!table.contains("10000 connections"), "{table}");
        // Each best step shows the server's and the load generator's CPU.
        let ours_best = table.lines().find(|l| l.starts_with("ours ") && l.contains("100 receivers")).expect("{table}");
        assert!(ours_best.contains("5000 deliveries/s") && ours_best.ends_with("cpu 1.0 / 0.5 s"), "{ours_best}");
    }
}
