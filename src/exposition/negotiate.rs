//! Content negotiation for /metrics.

/// The exposition format of a response.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Prometheus text format 0.0.4.
    Text,
    /// OpenMetrics 1.0.0 (Prometheus asks for it first by default).
    OpenMetrics,
}

impl Format {
    pub fn content_type(self) -> &'static str {
        match self {
            Format::Text => "text/plain; version=0.0.4; charset=utf-8",
            Format::OpenMetrics => "application/openmetrics-text; version=1.0.0; charset=utf-8",
        }
    }
}

/// Picks OpenMetrics when the Accept header offers it with a higher (or equal, earlier)
/// preference than anything else we could serve; everything else, protobuf included, gets
/// text 0.0.4 (as kube-state-metrics does).
pub fn negotiate(accept: &str) -> Format {
    let mut best: Option<(f32, Format)> = None;
    for part in accept.split(',') {
        let mut params = part.split(';');
        let media = params.next().unwrap_or("").trim().to_ascii_lowercase();
        let mut q = 1.0f32;
        for p in params {
            if let Some(v) = p.trim().strip_prefix("q=") {
                q = v.trim().parse().unwrap_or(0.0);
            }
        }
        let fmt = match media.as_str() {
            "application/openmetrics-text" => Format::OpenMetrics,
            "text/plain" | "*/*" | "text/*" => Format::Text,
            _ => continue,
        };
        if q <= 0.0 {
            continue;
        }
        if best.map(|(bq, _)| q > bq).unwrap_or(true) {
            best = Some((q, fmt));
        }
    }
    best.map(|(_, f)| f).unwrap_or(Format::Text)
}

/// Whether `Accept-Encoding` carries a `gzip` token with a non-zero q.
pub fn accepts_gzip(accept_encoding: &str) -> bool {
    accept_encoding.split(',').any(|part| {
        let mut it = part.split(';');
        let coding = it.next().unwrap_or("").trim();
        if !coding.eq_ignore_ascii_case("gzip") {
            return false;
        }
        !it.any(|p| {
            p.trim()
                .strip_prefix("q=")
                .map(|q| q.trim().parse::<f32>().unwrap_or(1.0) <= 0.0)
                .unwrap_or(false)
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prometheus_default_accept_gets_openmetrics() {
        let prom = "application/openmetrics-text;version=1.0.0;escaping=allow-utf-8;q=0.6,application/openmetrics-text;version=0.0.1;q=0.5,text/plain;version=1.0.0;escaping=allow-utf-8;q=0.4,text/plain;version=0.0.4;q=0.3,*/*;q=0.2";
        assert_eq!(negotiate(prom), Format::OpenMetrics);
        assert_eq!(negotiate(""), Format::Text);
        assert_eq!(negotiate("text/plain"), Format::Text);
        assert_eq!(negotiate("application/vnd.google.protobuf"), Format::Text);
        assert_eq!(
            negotiate("text/plain;q=0.9,application/openmetrics-text;q=0.5"),
            Format::Text
        );
    }

    #[test]
    fn gzip_tokens() {
        assert!(accepts_gzip("gzip"));
        assert!(accepts_gzip("deflate, gzip;q=0.8"));
        assert!(!accepts_gzip("gzip;q=0"));
        assert!(!accepts_gzip("identity"));
        assert!(!accepts_gzip(""));
    }
}
