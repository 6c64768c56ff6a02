//! Reading the daemon's Prometheus text in tests.

/// The sum of the samples of `name` carrying every label in `labels` (0 when there are none).
pub fn metric(text: &str, name: &str, labels: &[(&str, &str)]) -> f64 {
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| {
            let (series, value) = l.rsplit_once(' ')?;
            let base = series.split('{').next()?;
            (base == name && labels.iter().all(|(k, v)| series.contains(&format!("{k}=\"{v}\"")))).then_some(value)
        })
        .filter_map(|v| v.parse::<f64>().ok())
        .sum()
}
