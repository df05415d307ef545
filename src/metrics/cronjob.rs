//! CronJob families, in kube-state-metrics' order (`internal/store/cronjob.go`).
//!
//! `kube_cronjob_next_schedule_time` needs the schedule evaluated the way KSM's cron library
//! (a robfig/cron fork, `ParseStandard`) does: five fields or an `@descriptor`, an optional
//! `CRON_TZ=`/`TZ=` prefix, and `spec.timeZone` prepended as `CRON_TZ=`. Deviations, kept
//! small on purpose: named time zones are read from the system tz database
//! (`/usr/share/zoneinfo`) while KSM embeds its own, so on a host without one every named
//! zone reads as invalid; KSM's "local" zone is taken as UTC (what its container runs in);
//! the fork's extensions beyond robfig's standard syntax (`L`, `W`, `#`, `H`) are rejected.

use crate::metrics::common;
use crate::metrics::family::{identity_labels, Family, RenderCtx, Samples};
use crate::metrics::time::unix_seconds;
use crate::metrics::ResourceDef;
use k8s_openapi::api::batch::v1::{CronJob, CronJobStatus};
use k8s_openapi::jiff::civil::{Date, DateTime};
use k8s_openapi::jiff::tz::{AmbiguousOffset, TimeZone};
use k8s_openapi::jiff::Timestamp;
use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};

pub static CRONJOB: ResourceDef<CronJob> = ResourceDef {
    name: "cronjobs",
    identity: cronjob_identity,
    families: FAMILIES,
};

fn cronjob_identity(o: &CronJob) -> Vec<u8> {
    let m = &o.metadata;
    identity_labels(&[
        ("namespace", m.namespace.as_deref().unwrap_or("")),
        ("cronjob", m.name.as_deref().unwrap_or("")),
    ])
}

static FAMILIES: &[Family<CronJob>] = &[
    Family::experimental(
        "kube_cronjob_annotations",
        "Kubernetes annotations converted to Prometheus labels.",
        common::annotations,
    ),
    Family::stable(
        "kube_cronjob_labels",
        "Kubernetes labels converted to Prometheus labels.",
        common::labels,
    ),
    Family::stable("kube_cronjob_info", "Info about cronjob.", info),
    Family::stable("kube_cronjob_created", "Unix creation timestamp", common::created),
    Family::stable(
        "kube_cronjob_status_active",
        "Active holds pointers to currently running jobs.",
        |o, _, s| s.value(status(o).and_then(|st| st.active.as_ref()).map_or(0, Vec::len) as f64),
    ),
    Family::stable(
        "kube_cronjob_status_last_schedule_time",
        "LastScheduleTime keeps information of when was the last time the job was successfully scheduled.",
        |o, _, s| {
            if let Some(t) = status(o).and_then(|st| st.last_schedule_time.as_ref()) {
                s.value(unix_seconds(t));
            }
        },
    ),
    Family::stable(
        "kube_cronjob_status_last_successful_time",
        "LastSuccessfulTime keeps information of when was the last time the job was completed successfully.",
        |o, _, s| {
            if let Some(t) = status(o).and_then(|st| st.last_successful_time.as_ref()) {
                s.value(unix_seconds(t));
            }
        },
    ),
    Family::stable(
        "kube_cronjob_spec_suspend",
        "Suspend flag tells the controller to suspend subsequent executions.",
        |o, _, s| s.value(if suspended(o) { 1.0 } else { 0.0 }),
    ),
    Family::stable(
        "kube_cronjob_spec_starting_deadline_seconds",
        "Deadline in seconds for starting the job if it misses scheduled time for any reason.",
        |o, _, s| {
            if let Some(v) = o.spec.starting_deadline_seconds {
                s.value(v as f64);
            }
        },
    ),
    Family::stable(
        "kube_cronjob_next_schedule_time",
        "Next time the cronjob should be scheduled. The time after lastScheduleTime, or after the cron job's creation time if it's never been scheduled. Use this to determine if the job is delayed.",
        next_schedule_time,
    ),
    Family::experimental(
        "kube_cronjob_schedule_invalid",
        "Emitted with value 1 for cronjobs whose schedule, in its configured timezone, cannot be parsed.",
        |o, _, s| {
            if schedule(o).is_none() {
                s.value(1.0);
            }
        },
    ),
    Family::stable(
        "kube_cronjob_metadata_resource_version",
        "Resource version representing a specific version of the cronjob.",
        |o, _, s| {
            // Go's ParseFloat: no sample for a version that is not a number.
            let rv = o.metadata.resource_version.as_deref().unwrap_or("");
            if let Ok(v) = rv.parse::<f64>() {
                s.value(v);
            }
        },
    ),
    Family::experimental(
        "kube_cronjob_spec_successful_job_history_limit",
        "Successful job history limit tells the controller how many completed jobs should be preserved.",
        |o, _, s| {
            if let Some(v) = o.spec.successful_jobs_history_limit {
                s.value(v as f64);
            }
        },
    ),
    Family::experimental(
        "kube_cronjob_spec_failed_job_history_limit",
        "Failed job history limit tells the controller how many failed jobs should be preserved.",
        |o, _, s| {
            if let Some(v) = o.spec.failed_jobs_history_limit {
                s.value(v as f64);
            }
        },
    ),
];

fn status(o: &CronJob) -> Option<&CronJobStatus> {
    o.status.as_ref()
}

fn suspended(o: &CronJob) -> bool {
    o.spec.suspend == Some(true)
}

fn info(o: &CronJob, _: &RenderCtx, s: &mut Samples) {
    s.push(
        &[
            ("schedule", o.spec.schedule.as_str()),
            (
                "concurrency_policy",
                o.spec.concurrency_policy.as_deref().unwrap_or(""),
            ),
            ("timezone", o.spec.time_zone.as_deref().unwrap_or("local")),
        ],
        1.0,
    );
}

/// The schedule as KSM parses it: `spec.timeZone` becomes a `CRON_TZ=` prefix.
fn schedule(o: &CronJob) -> Option<Schedule> {
    match &o.spec.time_zone {
        Some(tz) => Schedule::parse(&format!("CRON_TZ={tz} {}", o.spec.schedule)),
        None => Schedule::parse(&o.spec.schedule),
    }
}

/// After the last schedule time, else after creation; nothing while suspended, for an
/// invalid schedule, or with neither time set. A schedule that never fires within five
/// years yields Go's zero time, as KSM writes it.
fn next_schedule_time(o: &CronJob, _: &RenderCtx, s: &mut Samples) {
    if suspended(o) {
        return;
    }
    let Some(sched) = schedule(o) else {
        return;
    };
    let last = status(o).and_then(|st| st.last_schedule_time.as_ref());
    let from =
        common::set_time(last).or_else(|| common::set_time(o.metadata.creation_timestamp.as_ref()));
    let Some(from) = from else {
        return;
    };
    let next = Timestamp::from_second(from as i64)
        .ok()
        .and_then(|t| sched.next(t))
        .map_or(common::GO_ZERO_TIME_UNIX, |t| t.as_second() as f64);
    s.value(next);
}

/// A parsed schedule: field bitmasks (bit n = value n) in a time zone, or a fixed delay.
#[derive(Debug)]
enum Schedule {
    Spec {
        minute: u64,
        hour: u64,
        dom: u64,
        month: u64,
        dow: u64,
        /// `*`/`?` in day-of-month or day-of-week: days must match both fields, not either.
        day_star: bool,
        tz: TimeZone,
    },
    Every {
        seconds: i64,
    },
}

const MONTHS: [&str; 12] = [
    "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
];
const DAYS: [&str; 7] = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"];

/// One field's mask and whether it was a star, or `None` when malformed (robfig's
/// `getField`: comma lists of `*`, `?`, `a`, `a-b`, each with an optional `/step`).
fn field(s: &str, min: u32, max: u32, names: &[&str], name_base: u32) -> Option<(u64, bool)> {
    let mut bits = 0u64;
    let mut star = false;
    for part in s.split(',') {
        let (range, step) = match part.split_once('/') {
            Some((r, st)) => (r, Some(st)),
            None => (part, None),
        };
        let value = |v: &str| -> Option<u32> {
            let lower = v.to_ascii_lowercase();
            if let Some(i) = names.iter().position(|n| *n == lower) {
                return Some(i as u32 + name_base);
            }
            if v.is_empty() || !v.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            v.parse().ok()
        };
        let (mut lo, mut hi, mut is_star) = if range == "*" || range == "?" {
            (min, max, true)
        } else {
            let mut it = range.split('-');
            let lo = value(it.next()?)?;
            let hi = match it.next() {
                Some(h) => value(h)?,
                None => lo,
            };
            if it.next().is_some() {
                return None;
            }
            (lo, hi, false)
        };
        let step = match step {
            None => 1,
            Some(st) => {
                if st.contains('/') {
                    return None;
                }
                let st: u32 = value(st).filter(|_| !st.is_empty())?;
                // `N/step` means N through the maximum.
                if !is_star && !range.contains('-') {
                    hi = max;
                }
                if st > 1 {
                    is_star = false;
                }
                st
            }
        };
        if lo < min || hi > max || lo > hi || step == 0 {
            return None;
        }
        while lo <= hi {
            bits |= 1 << lo;
            lo += step;
        }
        star |= is_star;
    }
    Some((bits, star))
}

impl Schedule {
    fn parse(spec: &str) -> Option<Schedule> {
        let mut spec = spec.trim();
        let mut tz = TimeZone::UTC;
        if spec.starts_with("TZ=") || spec.starts_with("CRON_TZ=") {
            let (prefix, rest) = spec.split_once(' ')?;
            let (_, name) = prefix.split_once('=')?;
            tz = load_zone(name)?;
            spec = rest.trim();
        }
        if spec.is_empty() {
            return None;
        }
        if let Some(d) = spec.strip_prefix('@') {
            let fields = match d {
                "yearly" | "annually" => "0 0 1 1 *",
                "monthly" => "0 0 1 * *",
                "weekly" => "0 0 * * 0",
                "daily" | "midnight" => "0 0 * * *",
                "hourly" => "0 * * * *",
                _ => {
                    let every = d.strip_prefix("every ")?;
                    let secs = go_duration_seconds(every.trim())?;
                    return Some(Schedule::Every {
                        seconds: secs.max(1),
                    });
                }
            };
            return Self::fields(fields, tz);
        }
        Self::fields(spec, tz)
    }

    fn fields(spec: &str, tz: TimeZone) -> Option<Schedule> {
        let f: Vec<&str> = spec.split_whitespace().collect();
        if f.len() != 5 {
            return None;
        }
        let (minute, _) = field(f[0], 0, 59, &[], 0)?;
        let (hour, _) = field(f[1], 0, 23, &[], 0)?;
        let (dom, dom_star) = field(f[2], 1, 31, &[], 0)?;
        let (month, _) = field(f[3], 1, 12, &MONTHS, 1)?;
        let (dow, dow_star) = field(f[4], 0, 6, &DAYS, 0)?;
        Some(Schedule::Spec {
            minute,
            hour,
            dom,
            month,
            dow,
            day_star: dom_star || dow_star,
            tz,
        })
    }

    /// The first activation strictly after `t` (whole seconds), or `None` if there is none
    /// within five years. Local times skipped by a DST gap never match, as in robfig.
    fn next(&self, t: Timestamp) -> Option<Timestamp> {
        let (minute, hour, dom, month, dow, day_star, tz) = match self {
            Schedule::Every { seconds } => {
                return Timestamp::from_second(t.as_second() + seconds).ok()
            }
            Schedule::Spec {
                minute,
                hour,
                dom,
                month,
                dow,
                day_star,
                tz,
            } => (*minute, *hour, *dom, *month, *dow, *day_star, tz),
        };
        let start = tz.to_datetime(Timestamp::from_second(t.as_second() + 1).ok()?);
        let limit = start.year() as i32 + 5;
        let (mut y, mut mo, mut d) = (
            start.year() as i32,
            start.month() as i32,
            start.day() as i32,
        );
        let (mut h, mut mi) = (start.hour() as i32, start.minute() as i32);
        if start.second() != 0 {
            mi += 1;
        }
        let hit = |mask: u64, v: i32| mask & (1 << v) != 0;
        loop {
            if mi > 59 {
                mi = 0;
                h += 1;
            }
            if h > 23 {
                h = 0;
                d += 1;
            }
            if mo > 12 {
                mo = 1;
                y += 1;
            }
            if y > limit {
                return None;
            }
            let first = Date::new(y as i16, mo as i8, 1).ok()?;
            if !hit(month, mo) || d > first.days_in_month() as i32 {
                (mo, d, h, mi) = (mo + 1, 1, 0, 0);
                continue;
            }
            let date = Date::new(y as i16, mo as i8, d as i8).ok()?;
            let wd = date.weekday().to_sunday_zero_offset() as i32;
            let day_ok = if day_star {
                hit(dom, d) && hit(dow, wd)
            } else {
                hit(dom, d) || hit(dow, wd)
            };
            if !day_ok {
                (d, h, mi) = (d + 1, 0, 0);
                continue;
            }
            if !hit(hour, h) {
                (h, mi) = (h + 1, 0);
                continue;
            }
            if !hit(minute, mi) {
                mi += 1;
                continue;
            }
            let dt = DateTime::new(y as i16, mo as i8, d as i8, h as i8, mi as i8, 0, 0).ok()?;
            let amb = tz.to_ambiguous_timestamp(dt);
            if matches!(amb.offset(), AmbiguousOffset::Gap { .. }) {
                mi += 1;
                continue;
            }
            return amb.compatible().ok();
        }
    }
}

/// Go's `time.ParseDuration`, truncated to whole seconds as robfig's `Every` does.
fn go_duration_seconds(s: &str) -> Option<i64> {
    let (neg, mut rest) = match s.as_bytes().first()? {
        b'-' => (true, &s[1..]),
        b'+' => (false, &s[1..]),
        _ => (false, s),
    };
    if rest == "0" {
        return Some(0);
    }
    if rest.is_empty() {
        return None;
    }
    let mut nanos = 0f64;
    while !rest.is_empty() {
        let num_end = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        let (num, tail) = rest.split_at(num_end);
        if num.is_empty() || num == "." {
            return None;
        }
        let n: f64 = num.parse().ok()?;
        let unit_end = tail
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(tail.len());
        let (unit, tail) = tail.split_at(unit_end);
        let scale = match unit {
            "ns" => 1.0,
            "us" | "µs" | "μs" => 1e3,
            "ms" => 1e6,
            "s" => 1e9,
            "m" => 60e9,
            "h" => 3600e9,
            _ => return None,
        };
        nanos += n * scale;
        rest = tail;
    }
    let secs = (nanos / 1e9).trunc() as i64;
    Some(if neg { -secs } else { secs })
}

/// A named zone from the system tz database, cached per name (including failures) so
/// rendering does not touch the file system per event. `UTC` and `""` need no database.
fn load_zone(name: &str) -> Option<TimeZone> {
    if name.is_empty() || name == "UTC" {
        return Some(TimeZone::UTC);
    }
    // Go's LoadLocation refuses these before looking anything up.
    if name.starts_with('/') || name.contains("..") || name.contains('\\') {
        return None;
    }
    static CACHE: OnceLock<Mutex<HashMap<String, Option<TimeZone>>>> = OnceLock::new();
    let cache = CACHE.get_or_init(Default::default);
    if let Ok(c) = cache.lock() {
        if let Some(z) = c.get(name) {
            return z.clone();
        }
    }
    let dir = std::env::var("ZONEINFO").unwrap_or_else(|_| "/usr/share/zoneinfo".to_string());
    let zone = std::fs::read(format!("{dir}/{name}"))
        .ok()
        .and_then(|data| TimeZone::tzif(name, &data).ok());
    if let Ok(mut c) = cache.lock() {
        c.insert(name.to_string(), zone.clone());
    }
    zone
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::catalog_check::{allowlist_ctx, check_catalog, line};
    use crate::metrics::testing::{allow_all, obj, render_lines};

    const ID: &str = r#"namespace="ns1",cronjob="ActiveRunningCronJob1""#;
    /// 2017-07-30T18:32:27Z
    const LAST: i64 = 1_501_439_547;

    fn cronjob(schedule: &str, extra_spec: &str) -> CronJob {
        obj(&format!(
            r#"{{
          "metadata": {{
            "name": "ActiveRunningCronJob1", "namespace": "ns1", "generation": 1,
            "resourceVersion": "11111",
            "creationTimestamp": "2017-05-26T18:30:00Z",
            "labels": {{"app": "example-active-running-1"}},
            "annotations": {{"note": "x"}}
          }},
          "spec": {{
            "schedule": "{schedule}", "concurrencyPolicy": "Forbid",
            "startingDeadlineSeconds": 300, "successfulJobsHistoryLimit": 3,
            "failedJobsHistoryLimit": 1, "jobTemplate": {{}}{extra_spec}
          }},
          "status": {{
            "active": [{{"name": "job1"}}, {{"name": "job2"}}],
            "lastScheduleTime": "2017-07-30T18:32:27Z",
            "lastSuccessfulTime": "2017-07-30T18:30:00Z"
          }}
        }}"#
        ))
    }

    fn all_names() -> Vec<&'static str> {
        FAMILIES.iter().map(|f| f.def.name).collect()
    }

    #[test]
    fn active_cronjob() {
        assert_eq!(
            render_lines(
                &CRONJOB,
                &cronjob("0 */6 * * *", ""),
                allow_all(),
                &all_names()
            ),
            vec![
                line(
                    "kube_cronjob_annotations",
                    ID,
                    r#"annotation_note="x""#,
                    "1"
                ),
                line(
                    "kube_cronjob_labels",
                    ID,
                    r#"label_app="example-active-running-1""#,
                    "1"
                ),
                line(
                    "kube_cronjob_info",
                    ID,
                    r#"schedule="0 */6 * * *",concurrency_policy="Forbid",timezone="local""#,
                    "1"
                ),
                line("kube_cronjob_created", ID, "", "1.4958234e+09"),
                line("kube_cronjob_status_active", ID, "", "2"),
                line(
                    "kube_cronjob_status_last_schedule_time",
                    ID,
                    "",
                    "1.501439547e+09"
                ),
                line(
                    "kube_cronjob_status_last_successful_time",
                    ID,
                    "",
                    "1.5014394e+09"
                ),
                line("kube_cronjob_spec_suspend", ID, "", "0"),
                line("kube_cronjob_spec_starting_deadline_seconds", ID, "", "300"),
                line("kube_cronjob_next_schedule_time", ID, "", "1.5014592e+09"),
                line("kube_cronjob_metadata_resource_version", ID, "", "11111"),
                line(
                    "kube_cronjob_spec_successful_job_history_limit",
                    ID,
                    "",
                    "3"
                ),
                line("kube_cronjob_spec_failed_job_history_limit", ID, "", "1"),
            ]
        );
    }

    #[test]
    fn suspended_and_invalid() {
        let names = &[
            "kube_cronjob_spec_suspend",
            "kube_cronjob_next_schedule_time",
            "kube_cronjob_schedule_invalid",
        ];
        let c = cronjob("0 */6 * * *", r#", "suspend": true"#);
        assert_eq!(
            render_lines(&CRONJOB, &c, allow_all(), names),
            vec![line("kube_cronjob_spec_suspend", ID, "", "1")]
        );
        let c = cronjob("61 * * * *", "");
        assert_eq!(
            render_lines(&CRONJOB, &c, allow_all(), names),
            vec![
                line("kube_cronjob_spec_suspend", ID, "", "0"),
                line("kube_cronjob_schedule_invalid", ID, "", "1"),
            ]
        );
        let c = cronjob("0 * * * *", r#", "timeZone": "Not/AZone""#);
        assert_eq!(
            render_lines(
                &CRONJOB,
                &c,
                allow_all(),
                &["kube_cronjob_schedule_invalid"]
            ),
            vec![line("kube_cronjob_schedule_invalid", ID, "", "1")]
        );
    }

    fn next(spec: &str) -> Option<i64> {
        let s = Schedule::parse(spec).expect("valid schedule");
        s.next(Timestamp::from_second(LAST).expect("ts"))
            .map(|t| t.as_second())
    }

    #[test]
    fn next_activation() {
        let midnight = 1_501_372_800; // 2017-07-30T00:00:00Z, a Sunday
        assert_eq!(next("0 */6 * * *"), Some(midnight + 86_400));
        assert_eq!(next("@hourly"), Some(midnight + 19 * 3600));
        assert_eq!(next("@every 1h30m"), Some(LAST + 5400));
        assert_eq!(next("33 18 * * *"), Some(LAST + 33));
        assert_eq!(
            next("32 18 * * *"),
            Some(midnight + 86_400 + 18 * 3600 + 32 * 60)
        );
        // dom and dow both restricted: either matches (Friday Aug 4 before the 13th).
        assert_eq!(next("0 0 13 * 5"), Some(midnight + 5 * 86_400));
        // dom a star: only the weekday decides.
        assert_eq!(next("0 0 * * FRI"), Some(midnight + 5 * 86_400));
        assert_eq!(next("0 0 13 * ?"), Some(midnight + 14 * 86_400));
        assert_eq!(next("0 0 13 oct *"), Some(1_507_852_800));
        assert_eq!(next("@yearly"), Some(1_514_764_800));
        assert_eq!(next("0 0 30 2 *"), None);
    }

    #[test]
    fn time_zones() {
        if !std::path::Path::new("/usr/share/zoneinfo/Asia/Tokyo").exists() {
            return; // documented: named zones need the system tz database
        }
        // 09:00 JST (UTC+9) after 2017-07-31T03:32:27 JST is 2017-07-31T00:00Z.
        assert_eq!(next("CRON_TZ=Asia/Tokyo 0 9 * * *"), Some(1_501_459_200));
        assert_eq!(next("TZ=Asia/Tokyo 0 9 * * *"), Some(1_501_459_200));
        let c = cronjob("0 9 * * *", r#", "timeZone": "Asia/Tokyo""#);
        assert_eq!(
            render_lines(
                &CRONJOB,
                &c,
                allow_all(),
                &["kube_cronjob_next_schedule_time"]
            ),
            vec![line(
                "kube_cronjob_next_schedule_time",
                ID,
                "",
                "1.5014592e+09"
            )]
        );
    }

    #[test]
    fn parser_rejects_what_robfig_rejects() {
        for bad in [
            "",
            "* * * *",
            "* * * * * *",
            "60 * * * *",
            "* 24 * * *",
            "* * 0 * *",
            "* * * 13 *",
            "* * * * 7",
            "5-1 * * * *",
            "*/0 * * * *",
            "1-2-3 * * * *",
            "@reboot",
            "@every",
            "CRON_TZ=UTC",
            "L * * * *",
        ] {
            assert!(Schedule::parse(bad).is_none(), "{bad:?}");
        }
        for good in ["*/15 1,3-5 ? JAN-mar sun-SAT", "5/20 * * * *", "@every 90s"] {
            assert!(Schedule::parse(good).is_some(), "{good:?}");
        }
        // `5/20` is 5 through 59 every 20 minutes.
        assert_eq!(
            next("5/20 * * * *"),
            Some(midnight_plus(18 * 3600 + 45 * 60))
        );
    }

    fn midnight_plus(s: i64) -> i64 {
        1_501_372_800 + s
    }

    #[test]
    fn created_is_the_fallback_for_next_schedule() {
        let c: CronJob = obj(r#"{
          "metadata": {"name": "ActiveRunningCronJob1", "namespace": "ns1",
                       "creationTimestamp": "2017-07-30T18:32:27Z", "resourceVersion": "abc"},
          "spec": {"schedule": "@daily", "jobTemplate": {}}
        }"#);
        assert_eq!(
            render_lines(&CRONJOB, &c, RenderCtx::default(), &all_names()),
            vec![
                line(
                    "kube_cronjob_info",
                    ID,
                    r#"schedule="@daily",concurrency_policy="",timezone="local""#,
                    "1"
                ),
                line("kube_cronjob_created", ID, "", "1.501439547e+09"),
                line("kube_cronjob_status_active", ID, "", "0"),
                line("kube_cronjob_spec_suspend", ID, "", "0"),
                line("kube_cronjob_next_schedule_time", ID, "", "1.5014592e+09"),
            ]
        );
    }

    #[test]
    fn labels_follow_the_allowlist() {
        let names = &["kube_cronjob_annotations", "kube_cronjob_labels"];
        let c = cronjob("@daily", "");
        assert!(render_lines(&CRONJOB, &c, RenderCtx::default(), names).is_empty());
        let ctx = allowlist_ctx("cronjobs", "cronjobs=[none]");
        assert_eq!(
            render_lines(&CRONJOB, &c, ctx, names),
            vec![
                line("kube_cronjob_annotations", ID, "", "1"),
                line("kube_cronjob_labels", ID, "", "1"),
            ]
        );
    }

    #[test]
    fn table_matches_the_ksm_catalog() {
        check_catalog(
            "cronjobs",
            &CRONJOB,
            2,
            &[cronjob("@daily", ""), cronjob("bad", "")],
            allow_all,
        );
    }
}
