//! DynamoDB numbers: exact decimals with up to 38 significant digits and a
//! magnitude between 1E-130 and 9.9999999999999999999999999999999999999E+125.
//!
//! Representation: `value = (-1)^neg × 0.d₁d₂…dₙ × 10^exp` with no leading or
//! trailing zero digit, so every value has exactly one representation and
//! equality, hashing and ordering work on the fields. Zero has no digits.
//! (`rust_decimal`'s 28 digits are not enough, hence our own type.)

use std::cmp::Ordering;
use std::fmt;

pub const DIGITS_MAX: usize = 38;
/// 9.99…E+125 = 0.999… × 10^126.
const EXP_MAX: i32 = 126;
/// 1E-130 = 0.1 × 10^-129.
const EXP_MIN: i32 = -129;

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Number {
    neg: bool,
    digits: Vec<u8>,
    exp: i32,
}

/// Why a string is not a storable number; messages are DynamoDB's.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum NumberError {
    #[error("The parameter cannot be converted to a numeric value: {0}")]
    NotNumeric(String),
    #[error("Attempting to store more than 38 significant digits in a Number")]
    TooManyDigits,
    #[error(
        "Number overflow. Attempting to store a number with magnitude larger than supported range"
    )]
    Overflow,
    #[error(
        "Number underflow. Attempting to store a number with magnitude smaller than supported range"
    )]
    Underflow,
}

impl Number {
    pub fn zero() -> Self {
        Number {
            neg: false,
            digits: Vec::new(),
            exp: 0,
        }
    }

    pub fn is_zero(&self) -> bool {
        self.digits.is_empty()
    }

    pub fn is_negative(&self) -> bool {
        self.neg
    }

    /// Significant digits, each 0..=9, most significant first.
    pub fn digits(&self) -> &[u8] {
        &self.digits
    }

    /// Decimal exponent: value = 0.digits × 10^exp.
    pub fn exponent(&self) -> i32 {
        self.exp
    }

    /// Builds a number from raw parts, normalizing and checking DynamoDB's
    /// limits (used by arithmetic and decoding).
    pub fn from_parts(neg: bool, digits: Vec<u8>, exp: i32) -> Result<Number, NumberError> {
        let mut digits = digits;
        let lead = digits.iter().take_while(|&&d| d == 0).count();
        digits.drain(..lead);
        let exp = exp - lead as i32;
        while digits.last() == Some(&0) {
            digits.pop();
        }
        if digits.is_empty() {
            return Ok(Number::zero());
        }
        // Magnitude first: a sum past the range is an overflow even when it
        // also carries a 39th digit.
        if exp > EXP_MAX {
            return Err(NumberError::Overflow);
        }
        if exp < EXP_MIN {
            return Err(NumberError::Underflow);
        }
        if digits.len() > DIGITS_MAX {
            return Err(NumberError::TooManyDigits);
        }
        Ok(Number { neg, digits, exp })
    }

    /// Parses DynamoDB's number syntax: `[+-]digits[.digits][(e|E)[+-]digits]`.
    pub fn parse(text: &str) -> Result<Number, NumberError> {
        let bad = || NumberError::NotNumeric(text.to_string());
        let bytes = text.as_bytes();
        let mut i = 0;
        let mut neg = false;
        if let Some(&sign) = bytes.first()
            && (sign == b'+' || sign == b'-')
        {
            neg = sign == b'-';
            i = 1;
        }
        let mut digits = Vec::with_capacity(bytes.len());
        let mut int_digits: i64 = 0;
        let mut seen_digit = false;
        let mut seen_point = false;
        while i < bytes.len() {
            match bytes[i] {
                b @ b'0'..=b'9' => {
                    seen_digit = true;
                    if !(digits.is_empty() && b == b'0') {
                        digits.push(b - b'0');
                        if !seen_point {
                            int_digits += 1;
                        }
                    } else if seen_point {
                        // Leading zero after the point shifts the exponent.
                        int_digits -= 1;
                    }
                }
                b'.' if !seen_point => seen_point = true,
                b'e' | b'E' => break,
                _ => return Err(bad()),
            }
            i += 1;
        }
        if !seen_digit {
            return Err(bad());
        }
        let mut exp_value: i64 = 0;
        if i < bytes.len() {
            // Exponent part.
            i += 1;
            let mut exp_neg = false;
            if let Some(&sign) = bytes.get(i)
                && (sign == b'+' || sign == b'-')
            {
                exp_neg = sign == b'-';
                i += 1;
            }
            if i >= bytes.len() {
                return Err(bad());
            }
            for &b in &bytes[i..] {
                if !b.is_ascii_digit() {
                    return Err(bad());
                }
                exp_value = (exp_value * 10 + i64::from(b - b'0')).min(1_000_000);
            }
            if exp_neg {
                exp_value = -exp_value;
            }
        }
        let exp = (int_digits + exp_value).clamp(-10_000_000, 10_000_000) as i32;
        Number::from_parts(neg, digits, exp)
    }

    /// DynamoDB's canonical text: plain notation, no exponent, no trailing zeros.
    pub fn to_canonical(&self) -> String {
        if self.is_zero() {
            return "0".to_string();
        }
        let mut out = String::with_capacity(self.digits.len() + 8);
        if self.neg {
            out.push('-');
        }
        let n = self.digits.len() as i32;
        let digit = |d: u8| char::from(b'0' + d);
        if self.exp <= 0 {
            out.push_str("0.");
            for _ in 0..(-self.exp) {
                out.push('0');
            }
            out.extend(self.digits.iter().map(|&d| digit(d)));
        } else if self.exp >= n {
            out.extend(self.digits.iter().map(|&d| digit(d)));
            for _ in 0..(self.exp - n) {
                out.push('0');
            }
        } else {
            let (int, frac) = self.digits.split_at(self.exp as usize);
            out.extend(int.iter().map(|&d| digit(d)));
            out.push('.');
            out.extend(frac.iter().map(|&d| digit(d)));
        }
        out
    }

    fn cmp_magnitude(&self, other: &Number) -> Ordering {
        match (self.is_zero(), other.is_zero()) {
            (true, true) => return Ordering::Equal,
            (true, false) => return Ordering::Less,
            (false, true) => return Ordering::Greater,
            _ => {}
        }
        self.exp
            .cmp(&other.exp)
            .then_with(|| self.digits.cmp(&other.digits))
    }
}

impl Number {
    /// An unsigned integer (always in range: u64 has 20 digits).
    pub fn from_u64(value: u64) -> Number {
        let mut digits = Vec::with_capacity(20);
        let mut rest = value;
        while rest > 0 {
            digits.push((rest % 10) as u8);
            rest /= 10;
        }
        digits.reverse();
        let exp = digits.len() as i32;
        Number::from_parts(false, digits, exp).unwrap_or_else(|_| Number::zero())
    }

    /// Exact sum. Errors are DynamoDB's: more than 38 significant digits in
    /// the result, or a magnitude outside the storable range.
    pub fn add(&self, other: &Number) -> Result<Number, NumberError> {
        self.add_signed(other, other.neg)
    }

    /// Exact difference `self - other`, with the same errors as [`Number::add`].
    pub fn sub(&self, other: &Number) -> Result<Number, NumberError> {
        self.add_signed(other, !other.neg)
    }

    fn add_signed(&self, other: &Number, other_neg: bool) -> Result<Number, NumberError> {
        if other.is_zero() {
            return Ok(self.clone());
        }
        if self.is_zero() {
            return Number::from_parts(other_neg, other.digits.clone(), other.exp);
        }
        // Align both magnitudes as integers scaled by 10^low, where low is the
        // smaller exponent of their last digits. Exponents are bounded
        // (EXP_MIN..=EXP_MAX) so the aligned width is at most a few hundred.
        let low_a = self.exp - self.digits.len() as i32;
        let low_b = other.exp - other.digits.len() as i32;
        let low = low_a.min(low_b);
        let high = self.exp.max(other.exp);
        let width = (high - low) as usize;
        let align = |n: &Number| -> Vec<u8> {
            let mut out = vec![0u8; width];
            let start = (high - n.exp) as usize;
            out[start..start + n.digits.len()].copy_from_slice(&n.digits);
            out
        };
        let a = align(self);
        let b = align(other);
        if self.neg == other_neg {
            // Same sign: add magnitudes, one extra leading digit for carry.
            let mut sum = vec![0u8; width + 1];
            let mut carry = 0u8;
            for i in (0..width).rev() {
                let d = a[i] + b[i] + carry;
                sum[i + 1] = d % 10;
                carry = d / 10;
            }
            sum[0] = carry;
            return Number::from_parts(self.neg, sum, high + 1);
        }
        // Opposite signs: subtract the smaller magnitude from the larger.
        let (big, small, neg) = match a.cmp(&b) {
            Ordering::Equal => return Ok(Number::zero()),
            Ordering::Greater => (&a, &b, self.neg),
            Ordering::Less => (&b, &a, other_neg),
        };
        let mut diff = vec![0u8; width];
        let mut borrow = 0i8;
        for i in (0..width).rev() {
            let mut d = big[i] as i8 - small[i] as i8 - borrow;
            borrow = 0;
            if d < 0 {
                d += 10;
                borrow = 1;
            }
            diff[i] = d as u8;
        }
        Number::from_parts(neg, diff, high)
    }
}

impl Ord for Number {
    fn cmp(&self, other: &Number) -> Ordering {
        match (self.neg, other.neg) {
            (false, true) => Ordering::Greater,
            (true, false) => Ordering::Less,
            (false, false) => self.cmp_magnitude(other),
            (true, true) => other.cmp_magnitude(self),
        }
    }
}

impl PartialOrd for Number {
    fn partial_cmp(&self, other: &Number) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl fmt::Display for Number {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_canonical())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn canon(s: &str) -> String {
        Number::parse(s)
            .map(|n| n.to_canonical())
            .unwrap_or_else(|e| format!("ERR {e}"))
    }

    #[test]
    fn canonical_forms() {
        assert_eq!(canon("0"), "0");
        assert_eq!(canon("-0"), "0");
        assert_eq!(canon("000.000"), "0");
        assert_eq!(canon("1.50"), "1.5");
        assert_eq!(canon("+7"), "7");
        assert_eq!(canon("1e3"), "1000");
        assert_eq!(canon("1E-5"), "0.00001");
        assert_eq!(canon("-0.0012300"), "-0.00123");
        assert_eq!(canon("123.456"), "123.456");
        assert_eq!(canon(".5"), "0.5");
        assert_eq!(canon("5."), "5");
        assert_eq!(canon("12.5e1"), "125");
    }

    #[test]
    fn limits() {
        let max = "9.9999999999999999999999999999999999999E+125";
        assert!(Number::parse(max).is_ok());
        assert_eq!(Number::parse("1E+126"), Err(NumberError::Overflow));
        assert!(Number::parse("1E-130").is_ok());
        assert_eq!(Number::parse("1E-131"), Err(NumberError::Underflow));
        assert!(Number::parse(&"1".repeat(38)).is_ok());
        assert_eq!(
            Number::parse(&"1".repeat(39)),
            Err(NumberError::TooManyDigits)
        );
        // Trailing zeros are not significant.
        assert!(Number::parse(&format!("1{}", "0".repeat(60))).is_ok());
        for bad in [
            "", "-", "abc", "1..2", "1e", "1e+", "0x10", " 1", "1 ", "Infinity", "NaN",
        ] {
            assert!(
                matches!(Number::parse(bad), Err(NumberError::NotNumeric(_))),
                "{bad}"
            );
        }
    }

    #[test]
    fn ordering() {
        let sorted = [
            "-100", "-2.5", "-2", "-0.001", "0", "0.001", "0.5", "1", "1.05", "10", "1e20",
        ];
        let nums: Vec<Number> = sorted.iter().map(|s| Number::parse(s).unwrap()).collect();
        for w in nums.windows(2) {
            assert!(w[0] < w[1], "{} < {}", w[0], w[1]);
        }
    }

    fn arith(a: &str, op: char, b: &str) -> String {
        let (a, b) = (Number::parse(a).unwrap(), Number::parse(b).unwrap());
        let r = if op == '+' { a.add(&b) } else { a.sub(&b) };
        r.map(|n| n.to_canonical())
            .unwrap_or_else(|e| format!("ERR {e}"))
    }

    #[test]
    fn arithmetic() {
        assert_eq!(arith("1", '+', "2"), "3");
        for v in [0u64, 1, 10, 1200, u64::MAX] {
            assert_eq!(Number::from_u64(v).to_canonical(), v.to_string());
        }
        assert_eq!(arith("0.1", '+', "0.2"), "0.3");
        assert_eq!(arith("999", '+', "1"), "1000");
        assert_eq!(arith("1", '-', "2"), "-1");
        assert_eq!(arith("-1.5", '+', "1.5"), "0");
        assert_eq!(arith("-1.5", '-', "1.5"), "-3");
        assert_eq!(arith("1000", '-', "0.001"), "999.999");
        assert_eq!(arith("0", '-', "7"), "-7");
        assert_eq!(arith("7", '-', "0"), "7");
        assert_eq!(arith("1e100", '-', "1e100"), "0");
        assert_eq!(arith("-5", '-', "-7"), "2");
        assert_eq!(
            arith(
                "9.9999999999999999999999999999999999999E+125",
                '+',
                "1E+125"
            ),
            "ERR Number overflow. Attempting to store a number with magnitude larger than supported range"
        );
        assert_eq!(
            arith("1E+30", '+', "1E-30"),
            "ERR Attempting to store more than 38 significant digits in a Number"
        );
        let max38 = "9".repeat(38);
        assert_eq!(arith(&max38, '-', &max38), "0");
    }

    #[test]
    fn arithmetic_matches_i128_seeded() {
        crate::testkit::for_seeds(crate::testkit::fixed_seeds(1), arithmetic_matches_i128_for);
    }

    fn arithmetic_matches_i128_for(seed: u64) {
        let mut rng = crate::testkit::Rng::new(seed);
        let mut next = || rng.next();
        for _ in 0..2000 {
            let a = (next() % 2_000_000_000) as i128 - 1_000_000_000;
            let b = (next() % 2_000_000_000) as i128 - 1_000_000_000;
            let (na, nb) = (
                Number::parse(&a.to_string()).unwrap(),
                Number::parse(&b.to_string()).unwrap(),
            );
            assert_eq!(
                na.add(&nb).unwrap().to_canonical(),
                (a + b).to_string(),
                "seed {seed}"
            );
            assert_eq!(
                na.sub(&nb).unwrap().to_canonical(),
                (a - b).to_string(),
                "seed {seed}"
            );
        }
    }
}
