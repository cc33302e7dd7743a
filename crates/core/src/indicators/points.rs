//! Rates and the points they earn, as the national portal turns them into its index.

use std::fmt;

/// The six groups of the index, with their points.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Group {
    /// 1. Công khai, minh bạch (18).
    Transparency,
    /// 2. Tiến độ giải quyết (20).
    Progress,
    /// 3. Dịch vụ công trực tuyến (12).
    Online,
    /// 4. Thanh toán trực tuyến (10).
    Payment,
    /// 5. Mức độ hài lòng (18).
    Satisfaction,
    /// 6. Số hóa hồ sơ (22).
    Digitisation,
}

impl Group {
    /// Every group, in the index's order.
    pub const ALL: [Group; 6] = [
        Group::Transparency,
        Group::Progress,
        Group::Online,
        Group::Payment,
        Group::Satisfaction,
        Group::Digitisation,
    ];

    /// The group's number in the index.
    pub fn number(self) -> u8 {
        self as u8 + 1
    }

    /// Its points out of 100.
    pub fn max_points(self) -> f64 {
        match self {
            Group::Transparency | Group::Satisfaction => 18.0,
            Group::Progress => 20.0,
            Group::Online => 12.0,
            Group::Payment => 10.0,
            Group::Digitisation => 22.0,
        }
    }

    /// Its name, as the portal writes it.
    pub fn name_vi(self) -> &'static str {
        match self {
            Group::Transparency => "Công khai, minh bạch",
            Group::Progress => "Tiến độ giải quyết",
            Group::Online => "Dịch vụ công trực tuyến",
            Group::Payment => "Thanh toán trực tuyến",
            Group::Satisfaction => "Mức độ hài lòng",
            Group::Digitisation => "Số hóa hồ sơ",
        }
    }
}

/// A count over a count.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Ratio {
    /// What met the indicator.
    pub numerator: u64,
    /// What it is measured over.
    pub denominator: u64,
}

impl Ratio {
    /// The rate in percent; `None` over nothing (no measurement, not a zero).
    pub fn percent(self) -> Option<f64> {
        (self.denominator > 0).then(|| self.numerator as f64 * 100.0 / self.denominator as f64)
    }
}

impl fmt::Display for Ratio {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.percent() {
            Some(p) => write!(f, "{}/{} ({p:.1} %)", self.numerator, self.denominator),
            None => write!(
                f,
                "{}/{} (không có dữ liệu)",
                self.numerator, self.denominator
            ),
        }
    }
}

/// The points a rate earns: all of them at or past the target; short of it, in proportion to
/// the target; without a target, in proportion to 100 %. No points without a rate.
pub fn points(percent: Option<f64>, max: f64, target: Option<f64>) -> Option<f64> {
    let r = percent?.clamp(0.0, 100.0);
    Some(match target {
        Some(t) if t > 0.0 && r >= t => max,
        Some(t) if t > 0.0 => r / t * max,
        _ => r * max / 100.0,
    })
}

/// One indicator of the index.
#[derive(Debug, Clone, PartialEq)]
pub struct Indicator {
    /// Its number in the index ("2.1").
    pub code: &'static str,
    /// Its group.
    pub group: Group,
    /// Points it is worth.
    pub max_points: f64,
    /// Target rate in percent, if the index sets one.
    pub target: Option<f64>,
    /// What was measured; `None` while the product holds no data for it.
    pub ratio: Option<Ratio>,
}

impl Indicator {
    /// Its points; `None` without data or over nothing.
    pub fn points(&self) -> Option<f64> {
        points(self.ratio?.percent(), self.max_points, self.target)
    }
}

/// The index of one unit for one period.
#[derive(Debug, Clone, PartialEq)]
pub struct Score {
    /// Every indicator worth points.
    pub indicators: Vec<Indicator>,
    /// 2.2: average days from reception to result (`None` when nothing was resolved).
    pub average_days: Option<f64>,
    /// Dossiers filed online over all received.
    pub online_share: Ratio,
    /// 3.2: procedures offered online that received an online dossier.
    pub services_used: Ratio,
    /// Online dossiers resolved on time.
    pub online_on_time: Ratio,
}

impl Score {
    /// A group's points, or `None` while none of its indicators has data.
    pub fn group_points(&self, group: Group) -> Option<f64> {
        let earned: Vec<f64> = self
            .indicators
            .iter()
            .filter(|i| i.group == group)
            .filter_map(Indicator::points)
            .collect();
        (!earned.is_empty()).then(|| earned.iter().sum())
    }

    /// Points of the groups with data, and the points those groups are worth: "32.5 of 32" is
    /// honest where "32.5 of 100" would read as a failing province.
    pub fn total(&self) -> (f64, f64) {
        Group::ALL
            .iter()
            .fold((0.0, 0.0), |(sum, out_of), g| match self.group_points(*g) {
                Some(p) => (sum + p, out_of + g.max_points()),
                None => (sum, out_of),
            })
    }
}
