use super::prelude::*;

/// Which date and time the action starts from.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "from", rename_all = "snake_case", deny_unknown_fields)]
pub enum DateSource {
    /// The time of the passage in the action.
    Now,
    /// A date read from a variable.
    Variable { variable: VarPath },
}

/// An amount of time to add or subtract.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Amount {
    #[serde(default)]
    pub days: Int<0, 36_500>,
    #[serde(default)]
    pub hours: Int<0, 876_000>,
    #[serde(default)]
    pub minutes: Int<0, 52_560_000>,
    #[serde(default)]
    pub seconds: Int<0, 3_153_600_000>,
}

/// Day of the week (ISO order).
#[derive(Clone, Copy, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Weekday {
    Monday,
    Tuesday,
    Wednesday,
    Thursday,
    Friday,
    Saturday,
    Sunday,
}

/// The day a date is set to.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "by", rename_all = "snake_case", deny_unknown_fields)]
pub enum DaySpec {
    /// Day of the month (clamped to the month's last day).
    DayOfMonth { day: Int<1, 31> },
    /// The next such weekday on or after the date.
    DayOfWeek { weekday: Weekday },
}

/// Operation on the date.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "op", rename_all = "snake_case", deny_unknown_fields)]
pub enum DateOperation {
    None,
    Add { amount: Amount },
    Subtract { amount: Amount },
    SetTo {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        day: Option<DaySpec>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        hours: Option<Int<0, 23>>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        minutes: Option<Int<0, 59>>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        seconds: Option<Int<0, 59>>,
    },
}

/// Reads or computes a date and time into a variable.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DateTime {
    pub source: DateSource,
    pub operation: DateOperation,
    pub store_in: VarTarget,
}

impl ActionType for DateTime {
    const TYPE: &'static str = "date_time";
    const LABEL: &'static str = "Date and time (retrieval and calculations)";
    const CATEGORY: Category = Category::Data;
    const FAMILIES: &'static [crate::ChannelFamily] = BOTH;
    const DESCRIPTION: &'static str = "Takes now or a date from a variable, optionally adds, subtracts or sets parts, and stores the result.";
    const BRANCHES: &'static [BranchDef] = branches![ok "OK", not_ok "Not OK"];
    runs_itself!();

    fn check(&self, issues: &mut Vec<ParamIssue>) {
        if let DateOperation::SetTo { day: None, hours: None, minutes: None, seconds: None } = self.operation {
            issues.push(ParamIssue::new("operation", "'set_to' needs at least one of day, hours, minutes, seconds"));
        }
    }
}

impl Amount {
    fn span(&self) -> Option<jiff::Span> {
        jiff::Span::new().try_days(self.days.0).ok()?.try_hours(self.hours.0).ok()?.try_minutes(self.minutes.0).ok()?.try_seconds(self.seconds.0).ok()
    }
}

impl Weekday {
    fn civil(self) -> jiff::civil::Weekday {
        match self {
            Weekday::Monday => jiff::civil::Weekday::Monday,
            Weekday::Tuesday => jiff::civil::Weekday::Tuesday,
            Weekday::Wednesday => jiff::civil::Weekday::Wednesday,
            Weekday::Thursday => jiff::civil::Weekday::Thursday,
            Weekday::Friday => jiff::civil::Weekday::Friday,
            Weekday::Saturday => jiff::civil::Weekday::Saturday,
            Weekday::Sunday => jiff::civil::Weekday::Sunday,
        }
    }
}

impl DateTime {
    fn compute(&self, base: jiff::Zoned) -> Option<jiff::Zoned> {
        match &self.operation {
            DateOperation::None => Some(base),
            DateOperation::Add { amount } => base.checked_add(amount.span()?).ok(),
            DateOperation::Subtract { amount } => base.checked_sub(amount.span()?).ok(),
            DateOperation::SetTo { day, hours, minutes, seconds } => {
                let mut date = base.date();
                match day {
                    None => {}
                    Some(DaySpec::DayOfMonth { day }) => {
                        let d = i8::try_from(day.0).ok()?.min(date.days_in_month());
                        date = date.with().day(d).build().ok()?;
                    }
                    Some(DaySpec::DayOfWeek { weekday }) => {
                        let wd = weekday.civil();
                        if date.weekday() != wd {
                            date = date.nth_weekday(1, wd).ok()?;
                        }
                    }
                }
                let t = base.time();
                let time = jiff::civil::Time::new(
                    hours.map_or(Some(t.hour()), |h| i8::try_from(h.0).ok())?,
                    minutes.map_or(Some(t.minute()), |m| i8::try_from(m.0).ok())?,
                    seconds.map_or(Some(t.second()), |s| i8::try_from(s.0).ok())?,
                    0,
                )
                .ok()?;
                // a time in a daylight-saving gap moves forward; in a fold, the earlier one is kept
                date.to_datetime(time).to_zoned(base.time_zone().clone()).ok()
            }
        }
    }
}

impl Run for DateTime {
    /// Stores the result as RFC 3339 with the offset of the deployment's time zone. A source
    /// variable that holds no date, or a result out of range, takes *Not OK*.
    fn run(&self, cx: &mut dyn Cx) -> Step {
        let tz = cx.time_zone().clone();
        let base = match &self.source {
            DateSource::Now => cx.now().to_zoned(tz),
            DateSource::Variable { variable } => match cx.get(&variable.0).map(value_text).and_then(|t| crate::exec::parse_when(&t, &tz)) {
                Some(z) => z,
                None => {
                    cx.set_error("not_a_date");
                    return Step::Branch("not_ok");
                }
            },
        };
        let Some(result) = self.compute(base) else {
            cx.set_error("date_out_of_range");
            return Step::Branch("not_ok");
        };
        match cx.set(&self.store_in.0, Value::String(crate::exec::format_when(&result))) {
            Ok(()) => Step::Branch("ok"),
            Err(reason) => {
                cx.set_error(&reason);
                Step::Branch("not_ok")
            }
        }
    }
}
