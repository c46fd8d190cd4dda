//! Markdown tables and number formatting for the reports.

/// A GitHub-flavoured markdown table; the first column left-aligned, the
/// rest right-aligned.
pub fn table(headers: &[&str], rows: &[Vec<String>]) -> String {
    let mut out = format!("| {} |\n", headers.join(" | "));
    let align: Vec<&str> = (0..headers.len())
        .map(|i| if i == 0 { "---" } else { "---:" })
        .collect();
    out.push_str(&format!("| {} |\n", align.join(" | ")));
    for r in rows {
        out.push_str(&format!("| {} |\n", r.join(" | ")));
    }
    out
}

/// `0.8437` -> `84.4%`.
pub fn pct(x: f64) -> String {
    format!("{:.1}%", 100.0 * x)
}

/// Embeds OUT/img/<stem>.png, linking the SVG.
pub fn image(stem: &str, alt: &str) -> String {
    format!("![{alt}](img/{stem}.png)\n\n(vector version: [img/{stem}.svg](img/{stem}.svg))\n")
}

/// "yes" or a loud "NO".
pub fn check(ok: bool) -> String {
    if ok {
        "yes".into()
    } else {
        "**NO**".into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_a_table() {
        let t = table(&["a", "b"], &[vec!["x".into(), "1".into()]]);
        assert_eq!(t, "| a | b |\n| --- | ---: |\n| x | 1 |\n");
        assert_eq!(pct(0.8437), "84.4%");
    }
}
