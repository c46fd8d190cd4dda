//! Load per replica as N grows: the mean, the band between the least and
//! the most loaded replica, and every replica's own count as a dot.
//!
//! The mean alone is always `requests / N` and says nothing; the band is
//! where a hash family shows whether it scales.

use plotters::coord::Shift;
use plotters::prelude::*;

use super::{color, err, FONT};

#[derive(Debug, Clone)]
pub struct Spread {
    pub title: String,
    pub x_label: String,
    pub y_label: String,
    /// Per N: `(N, every replica's count)`.
    pub points: Vec<(u32, Vec<f64>)>,
    /// Top of the y axis; 145% of the largest count (room for the legend)
    /// when `None`.
    pub y_max: Option<f64>,
}

impl Spread {
    pub fn draw<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>) -> Result<(), String> {
        let stats: Vec<(f64, f64, f64, f64)> = self
            .points
            .iter()
            .filter(|(_, v)| !v.is_empty())
            .map(|(n, v)| {
                let min = v.iter().copied().fold(f64::INFINITY, f64::min);
                let max = v.iter().copied().fold(0.0, f64::max);
                let mean = v.iter().sum::<f64>() / v.len() as f64;
                (f64::from(*n), mean, min, max)
            })
            .collect();
        let top = stats.iter().map(|s| s.3).fold(0.0, f64::max);
        let y_max = self.y_max.unwrap_or(top * 1.45).max(top * 1.05).max(1.0);
        let x_min = stats.first().map_or(0.0, |s| s.0) - 0.3;
        let x_max = stats.last().map_or(1.0, |s| s.0) + 0.3;
        let mut chart = ChartBuilder::on(area)
            .caption(&self.title, (FONT, 20))
            .margin(12)
            .x_label_area_size(40)
            .y_label_area_size(70)
            .build_cartesian_2d(x_min..x_max, 0.0..y_max)
            .map_err(err)?;
        chart
            .configure_mesh()
            .light_line_style(WHITE)
            .x_desc(&self.x_label)
            .y_desc(&self.y_label)
            .x_labels(stats.len().max(2))
            .x_label_formatter(&|x| format!("{x:.0}"))
            .y_label_formatter(&|y| format!("{y:.0}"))
            .label_style((FONT, 14))
            .axis_desc_style((FONT, 15))
            .draw()
            .map_err(err)?;

        let band: Vec<(f64, f64)> = stats
            .iter()
            .map(|s| (s.0, s.3))
            .chain(stats.iter().rev().map(|s| (s.0, s.2)))
            .collect();
        let shade = color(0).mix(0.18);
        chart
            .draw_series(std::iter::once(Polygon::new(band, shade.filled())))
            .map_err(err)?
            .label("min..max band")
            .legend(move |(x, y)| Rectangle::new([(x, y - 6), (x + 20, y + 6)], shade.filled()));
        let lines = [
            ("busiest replica", 3usize, 2usize),
            ("mean (requests / N)", 0, 1),
            ("least loaded replica", 0, 3),
        ];
        for (name, c, field) in lines {
            let col = if name.starts_with("mean") {
                BLACK
            } else {
                color(c)
            };
            let pts = stats.iter().map(move |s| {
                let y = match field {
                    1 => s.1,
                    2 => s.3,
                    _ => s.2,
                };
                (s.0, y)
            });
            chart
                .draw_series(LineSeries::new(pts, col.stroke_width(2)))
                .map_err(err)?
                .label(name)
                .legend(move |(x, y)| PathElement::new([(x, y), (x + 20, y)], col.stroke_width(2)));
        }
        let dots = self.points.iter().flat_map(|(n, v)| {
            v.iter()
                .map(move |y| Circle::new((f64::from(*n), *y), 3, color(0).filled()))
        });
        chart
            .draw_series(dots)
            .map_err(err)?
            .label("one replica")
            .legend(|(x, y)| Circle::new((x + 10, y), 3, color(0).filled()));
        chart
            .configure_series_labels()
            .label_font((FONT, 14))
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK)
            .position(SeriesLabelPosition::UpperRight)
            .draw()
            .map_err(err)
    }
}
