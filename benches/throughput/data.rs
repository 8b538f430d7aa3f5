//! Payroll CSVs of any size, the same bytes on every machine: a fixed seed drives a
//! splitmix64 generator, so two benchmark runs pay exactly the same payees.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use rust_decimal::Decimal;

/// The seed of every generated payroll.
pub const SEED: u64 = 0x5eed_0f5a_1a2e_5eed;

const FIRST: &[&str] = &[
    "Ada",
    "Alan",
    "Grace",
    "Edsger",
    "Barbara",
    "Donald",
    "Frances",
    "John",
    "Katherine",
    "Leslie",
    "Margaret",
    "Niklaus",
    "Radia",
    "Tony",
    "Shafi",
    "Ken",
];
const LAST: &[&str] = &[
    "Lovelace",
    "Turing",
    "Hopper",
    "Dijkstra",
    "Liskov",
    "Knuth",
    "Allen",
    "McCarthy",
    "Johnson",
    "Lamport",
    "Hamilton",
    "Wirth",
    "Perlman",
    "Hoare",
    "Goldwasser",
    "Thompson",
];

/// A deterministic 64-bit generator (splitmix64).
struct SplitMix(u64);

impl SplitMix {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
}

/// A generated payroll: where it is and what it pays in total.
#[derive(Debug, Clone)]
pub struct Payroll {
    /// The CSV file.
    pub path: PathBuf,
    /// Rows.
    pub rows: usize,
    /// The sum of the `amount` column, exact.
    pub total: Decimal,
}

/// Writes `payroll-<rows>.csv` into `dir` (columns of `workflows/payroll.yaml`): ids
/// `E0000001…`, names from a fixed list plus the row number (so every target-account label
/// is distinct), amounts between 1.00 and 5,000.00 EURC with two decimals.
pub fn write(dir: &Path, rows: usize) -> std::io::Result<Payroll> {
    let mut rng = SplitMix(SEED ^ rows as u64);
    let mut text = String::with_capacity(rows * 64);
    text.push_str("employee_id,name,amount,iban_label\n");
    let mut total = Decimal::ZERO;
    for i in 1..=rows {
        let r = rng.next();
        let first = FIRST[(r % FIRST.len() as u64) as usize];
        let last = LAST[((r >> 8) % LAST.len() as u64) as usize];
        let cents = 100 + (r >> 16) % 499_901;
        let amount = Decimal::new(cents as i64, 2);
        total += amount;
        writeln!(
            text,
            "E{i:07},{first} {last} {i},{amount},{first} {last} {i} EUR"
        )
        .expect("writing to a string");
    }
    let path = dir.join(format!("payroll-{rows}.csv"));
    std::fs::write(&path, text)?;
    Ok(Payroll { path, rows, total })
}
