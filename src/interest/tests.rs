//! Each expected figure is worked out by hand in the comment above it: days counted on a
//! calendar, the rate from the table named, the product written out.

use super::*;
use std::str::FromStr;

fn d(s: &str) -> Decimal {
    Decimal::from_str(s).unwrap()
}

fn day(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
}

fn cur(c: &str) -> Currency {
    Currency::parse(c).unwrap()
}

fn laws() -> Laws {
    Laws::shipped().unwrap_or_else(|e| panic!("shipped law files: {e}"))
}

fn invoice<'a>(due: &str, amount: &str, currency: &str, debtor: DebtorKind) -> Invoice<'a> {
    Invoice {
        due: day(due),
        issued: None,
        amount: d(amount),
        amount_paid: Decimal::ZERO,
        currency: cur(currency),
        debtor,
        payments: &[],
        contractual_rate: None,
        contract_date: None,
        demand_letter: None,
        creditor_is_sme: false,
        debtor_large_or_public: false,
    }
}

fn terms(apply: Apply, as_of: &str) -> Terms {
    Terms {
        apply,
        as_of: day(as_of),
        from_day: 0,
    }
}

fn run(law: &str, t: &Terms, inv: &Invoice<'_>) -> Outcome {
    compute(&laws(), law, t, inv).unwrap_or_else(|e| panic!("{e}"))
}

/// (from, to, days, rate) of each period.
fn shape(i: &Interest) -> Vec<(NaiveDate, NaiveDate, i64, Decimal)> {
    i.periods
        .iter()
        .map(|p| (p.from, p.to, p.days, p.rate))
        .collect()
}

#[test]
fn germany_b2b_across_the_half_year_uses_each_base_rate() {
    // Due 2023-06-20: interest from 21 June. Base rate 1.62 % (1 Jan 2023) + 9 = 10.62 %
    // for 21-30 June (10 days); 3.12 % (1 Jul 2023) + 9 = 12.12 % for July (31 days).
    // 10000 × 10.62 % × 10/365 = 1062 × 10/365 = 29.0958904
    // 10000 × 12.12 % × 31/365 = 1212 × 31/365 = 102.9369863
    // total 132.0328767 → 132.03
    let inv = invoice("2023-06-20", "10000.00", "EUR", DebtorKind::Company);
    let o = run("DE", &terms(Apply::B2b, "2023-07-31"), &inv);
    let i = o.interest.unwrap();
    assert_eq!(
        shape(&i),
        [
            (day("2023-06-21"), day("2023-06-30"), 10, d("10.62")),
            (day("2023-07-01"), day("2023-07-31"), 31, d("12.12")),
        ]
    );
    assert_eq!(i.amount, d("132.03"));
    assert!(i.verified);
    // § 288(5) BGB: EUR 40 from a debtor who is not a consumer.
    let c = o.compensation.unwrap();
    assert_eq!((c.amount, c.currency), (d("40.00"), cur("EUR")));
}

#[test]
fn consumer_and_company_get_their_own_rate_or_none() {
    let t_all = terms(Apply::All, "2023-07-31");
    // A person in Germany: base + 5 = 6.62 % then 8.12 %.
    // 10000 × 6.62 % × 10/365 = 18.1369863; 10000 × 8.12 % × 31/365 = 68.9643836
    // total 87.1013699 → 87.10; no EUR 40 (§ 288(5) is for non-consumers).
    let person = invoice("2023-06-20", "10000.00", "EUR", DebtorKind::Person);
    let o = run("DE", &t_all, &person);
    assert_eq!(o.interest.unwrap().amount, d("87.10"));
    assert!(matches!(
        o.compensation,
        Err(Reason::NoRule { consumer: true, .. })
    ));
    // `apply: b2b` leaves the person alone, and someone whose kind is unknown too.
    let b2b = terms(Apply::B2b, "2023-07-31");
    assert_eq!(run("DE", &b2b, &person).interest, Err(Reason::Consumer));
    let unknown = invoice("2023-06-20", "10000.00", "EUR", DebtorKind::Unknown);
    assert_eq!(run("DE", &b2b, &unknown).interest, Err(Reason::UnknownKind));
    // Under `all` the unknown debtor pays the consumer rate, the lower claim.
    assert_eq!(
        run("DE", &t_all, &unknown).interest.unwrap().amount,
        d("87.10")
    );
    // The UK Act is about businesses only: nothing statutory against a person.
    let gb = invoice("2025-06-10", "500.00", "GBP", DebtorKind::Person);
    assert!(matches!(
        run("GB", &terms(Apply::All, "2025-07-31"), &gb).interest,
        Err(Reason::NoRule { consumer: true, .. })
    ));
    assert_eq!(
        run("DE", &terms(Apply::None, "2023-07-31"), &person).interest,
        Err(Reason::Off)
    );
}

#[test]
fn uk_fixed_sums_by_debt_size_and_one_rate_across_july() {
    // Due 2025-06-10: interest starts 11 June, in the first half-year, so the rate is Bank
    // Rate on 31 Dec 2024 (4.75 %, from 7 Nov 2024) + 8 = 12.75 % for the whole debt —
    // also after 1 July, although Bank Rate on 30 Jun 2025 was 4.25 %.
    // 11 June - 31 July = 20 + 31 = 51 days.
    let t = terms(Apply::B2b, "2025-07-31");
    let cases = [
        // 500 × 12.75 % × 51/365 = 63.75 × 51/365 = 8.9075342 → 8.91; under £1,000: £40
        ("500.00", "8.91", "40.00", "below 1000 GBP"),
        // 1000 is not under £1,000: £70; 127.5 × 51/365 = 17.8150685 → 17.82
        ("1000.00", "17.82", "70.00", "below 10000 GBP"),
        // 5000: 637.5 × 51/365 = 89.0753425 → 89.08; £70
        ("5000.00", "89.08", "70.00", "below 10000 GBP"),
        // 20000: 2550 × 51/365 = 356.3013699 → 356.30; £10,000 or more: £100
        ("20000.00", "356.30", "100.00", "from 10000 GBP"),
    ];
    for (amount, interest, fixed, tier) in cases {
        let inv = invoice("2025-06-10", amount, "GBP", DebtorKind::Company);
        let o = run("GB", &t, &inv);
        let i = o.interest.unwrap();
        assert!(i.fixed_at_start);
        assert_eq!(
            shape(&i),
            [(day("2025-06-11"), day("2025-07-31"), 51, d("12.75"))],
            "{amount}"
        );
        assert_eq!(i.amount, d(interest), "{amount}");
        let c = o.compensation.unwrap();
        assert_eq!((c.amount, c.tier.as_str()), (d(fixed), tier), "{amount}");
    }
    // A debt whose interest starts in July reads 30 June: 4.25 + 8 = 12.25 %.
    let july = invoice("2025-07-01", "1000.00", "GBP", DebtorKind::Company);
    let i = run("GB", &terms(Apply::B2b, "2025-07-31"), &july)
        .interest
        .unwrap();
    assert_eq!(i.periods[0].rate, d("12.25"));
    // A pound sum is never put on a euro invoice.
    let eur = invoice("2025-06-10", "500.00", "EUR", DebtorKind::Company);
    assert!(matches!(
        run("GB", &t, &eur).compensation,
        Err(Reason::Currency { .. })
    ));
}

#[test]
fn japan_keeps_the_rate_of_the_day_the_debt_fell_due() {
    // Art. 419: the statutory rate when the debtor first became late: 3 % (the period
    // from 1 April 2026 keeps 3 %). Due 2026-03-31, late from 1 April; to 20 November:
    // 30+31+30+31+31+30+31+20 = 234 days. 1,000,000 × 3 % × 234/365 = 19232.88 → ¥19233.
    let inv = invoice("2026-03-31", "1000000", "JPY", DebtorKind::Company);
    let o = run("JP", &terms(Apply::B2b, "2026-11-20"), &inv);
    let i = o.interest.unwrap();
    assert_eq!(i.amount, d("19233"));
    assert!(i.fixed_at_start && i.verified);
    assert!(matches!(o.compensation, Err(Reason::NoRule { .. })));

    // Were the rate to change on 1 April 2026 (a user's own table says 4 %), a debt late
    // since 21 March keeps 3 %: 21 March - 20 November = 11 + 234 = 245 days,
    // 1,000,000 × 3 % × 245/365 = 20136.99 → ¥20137; one late from 11 April pays 4 %.
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("rates")).unwrap();
    let own = include_str!("../../laws/rates/jp_statutory.yaml").replace(
        "{from: 2026-04-01, rate: \"3\"",
        "{from: 2026-04-01, rate: \"4\"",
    );
    std::fs::write(dir.path().join("rates/jp_statutory.yaml"), own).unwrap();
    let mine = Laws::shipped_and(dir.path()).unwrap();
    let t = terms(Apply::All, "2026-11-20");
    let march = invoice("2026-03-20", "1000000", "JPY", DebtorKind::Person);
    let i = compute(&mine, "JP", &t, &march).unwrap().interest.unwrap();
    assert_eq!(
        shape(&i),
        [(day("2026-03-21"), day("2026-11-20"), 245, d("3"))]
    );
    assert_eq!(i.amount, d("20137"));
    let april = invoice("2026-04-10", "1000000", "JPY", DebtorKind::Person);
    let i = compute(&mine, "JP", &t, &april).unwrap().interest.unwrap();
    assert_eq!(i.periods[0].rate, d("4"));
}

#[test]
fn poland_compensation_tiers_at_the_nbp_rate_of_the_month_before() {
    // Due in November 2025: the NBP average EUR rate of the last business day of October
    // (Friday 31 Oct 2025) is 4.2543.
    let t = terms(Apply::B2b, "2025-12-31");
    let cases = [
        // up to PLN 5,000: EUR 40 × 4.2543 = 170.172 → 170.17
        ("5000.00", "170.17", "40"),
        // above 5,000 and below 50,000: EUR 70 × 4.2543 = 297.801 → 297.80
        ("5000.01", "297.80", "70"),
        ("49999.99", "297.80", "70"),
        // 50,000 or more: EUR 100 × 4.2543 = 425.43
        ("50000.00", "425.43", "100"),
    ];
    for (amount, pln, eur) in cases {
        let inv = invoice("2025-11-15", amount, "PLN", DebtorKind::Company);
        let c = run("PL", &t, &inv).compensation.unwrap();
        assert_eq!(c.amount, d(pln), "{amount}");
        assert_eq!(c.currency, cur("PLN"));
        let conv = c.conversion.unwrap();
        assert_eq!(
            (conv.date, conv.rate, conv.from_amount, conv.from_currency),
            (day("2025-10-31"), d("4.2543"), d(eur), cur("EUR"))
        );
    }
    // Interest: H2 2025 reads the reference rate in force on 1 July 2025 (5.25 %; the July
    // cut took effect later) + 10 = 15.25 %; H1 2026 reads 1 January 2026 (4.00 %) + 10.
    // 16 Nov - 31 Dec: 15 + 31 = 46 days, 5000 × 15.25 % × 46/365 = 96.0958904
    // January: 31 days, 5000 × 14 % × 31/365 = 59.4520548; total 155.5479452 → 155.55
    let inv = invoice("2025-11-15", "5000.00", "PLN", DebtorKind::Company);
    let i = run("PL", &terms(Apply::B2b, "2026-01-31"), &inv)
        .interest
        .unwrap();
    assert_eq!(
        shape(&i),
        [
            (day("2025-11-16"), day("2025-12-31"), 46, d("15.25")),
            (day("2026-01-01"), day("2026-01-31"), 31, d("14.00")),
        ]
    );
    assert_eq!(i.amount, d("155.55"));
    // A person in Poland: art. 481 k.c., reference rate + 5.5 from the day it changes.
    // 9 Oct - 5 Nov 2025: 23 + 5 = 28 days at 4.50 + 5.5 = 10 %: 100 × 28/365 = 7.6712329
    // 6 - 10 Nov: 5 days at 4.25 + 5.5 = 9.75 %: 97.5 × 5/365 = 1.3356164
    // total 9.0068493 → 9.01
    let person = invoice("2025-10-08", "1000.00", "PLN", DebtorKind::Person);
    let i = run("PL", &terms(Apply::All, "2025-11-10"), &person)
        .interest
        .unwrap();
    assert_eq!(
        shape(&i),
        [
            (day("2025-10-09"), day("2025-11-05"), 28, d("10.00")),
            (day("2025-11-06"), day("2025-11-10"), 5, d("9.75")),
        ]
    );
    assert_eq!(i.amount, d("9.01"));
    // A month the table does not hold is an error naming the file and the day to add.
    let dec = invoice("2025-12-10", "5000.00", "PLN", DebtorKind::Company);
    let err = compute(&laws(), "PL", &t, &dec).unwrap_err();
    assert!(err.to_string().contains("nbp_eur_pln.yaml"), "{err}");
    assert!(err.to_string().contains("2025-11"), "{err}");
}

#[test]
fn interest_runs_on_the_balance_left_after_each_part_payment() {
    // Germany B2B, H1 2024: base 3.62 % + 9 = 12.62 %. EUR 10,000 due 15 Jan 2024;
    // 3,000 paid 14 Feb, 2,000 paid 15 Mar (a payment day still runs on the old balance).
    // 16 Jan - 14 Feb: 30 days on 10000: 1262 × 30/365 = 103.7260274
    // 15 Feb - 15 Mar: 15 + 15 = 30 days (2024 is a leap year) on 7000:
    //   883.4 × 30/365 = 72.6082192
    // 16 Mar - 30 Apr: 16 + 30 = 46 days on 5000: 631 × 46/365 = 79.5232877
    // total 255.8575343 → 255.86
    let payments = [
        (day("2024-02-14"), d("3000")),
        (day("2024-03-15"), d("2000")),
    ];
    let mut inv = invoice("2024-01-15", "10000.00", "EUR", DebtorKind::Company);
    inv.payments = &payments;
    inv.amount_paid = d("5000");
    let o = run("DE", &terms(Apply::B2b, "2024-04-30"), &inv);
    let i = o.interest.unwrap();
    let balances: Vec<_> = i.periods.iter().map(|p| (p.days, p.balance)).collect();
    assert_eq!(
        balances,
        [(30, d("10000.00")), (30, d("7000.00")), (46, d("5000.00"))]
    );
    assert_eq!(i.amount, d("255.86"));
    assert_eq!(o.open, d("5000.00"));

    // Paid in full on 14 Feb: interest stops that day (103.73).
    let full = [(day("2024-02-14"), d("10000"))];
    inv.payments = &full;
    inv.amount_paid = d("10000");
    let i = run("DE", &terms(Apply::B2b, "2024-04-30"), &inv)
        .interest
        .unwrap();
    assert_eq!(i.amount, d("103.73"));
}

#[test]
fn undated_paid_amounts_count_as_paid_on_the_due_date() {
    // EUR 1,000, amount_paid 400 with no dated payment: interest runs on 600 only.
    // 16 Jan - 14 Feb 2024: 30 days, 600 × 12.62 % × 30/365 = 6.2235616 → 6.22
    let mut inv = invoice("2024-01-15", "1000.00", "EUR", DebtorKind::Company);
    inv.amount_paid = d("400");
    let o = run("DE", &terms(Apply::B2b, "2024-02-14"), &inv);
    assert_eq!(o.undated_paid, d("400"));
    assert_eq!(o.interest.unwrap().amount, d("6.22"));
}

#[test]
fn netherlands_company_and_consumer_with_the_fourteen_day_letter() {
    // B2B: ECB rate on 31 Dec 2024 (3.15) + 8 = 11.15 % to 30 June; on 30 Jun 2025
    // (2.15) + 8 = 10.15 % from 1 July. Due 31 Mar 2025.
    // 1 Apr - 30 Jun: 91 days, 111.5 × 91/365 = 27.7986301
    // 1 Jul - 31 Dec: 184 days, 101.5 × 184/365 = 51.1671233; total 78.9657534 → 78.97
    let t = terms(Apply::All, "2025-12-31");
    let company = invoice("2025-03-31", "1000.00", "EUR", DebtorKind::Company);
    let o = run("NL", &t, &company);
    assert_eq!(o.interest.unwrap().amount, d("78.97"));
    assert_eq!(o.compensation.unwrap().amount, d("40.00"));

    // Consumer: 6 % (1 Jan 2025) then 5 % (1 Jul 2025, derived and marked unverified).
    // 60 × 91/365 = 14.9589041; 50 × 184/365 = 25.2054795; total 40.1643836 → 40.16
    let mut person = invoice("2025-03-31", "1000.00", "EUR", DebtorKind::Person);
    let o = run("NL", &t, &person);
    let i = o.interest.unwrap();
    assert_eq!(i.amount, d("40.16"));
    assert!(!i.verified, "the 1 July 2025 consumer rate is not verified");
    // Collection costs only after the 14-day letter of art. 6:96(6) BW.
    assert_eq!(o.compensation, Err(Reason::NeedsLetter { days: 14 }));
    // Received 20 Dec: the 14 days run 21 Dec - 3 Jan; costs from 4 Jan 2026.
    person.demand_letter = Some(day("2025-12-20"));
    assert_eq!(
        run("NL", &t, &person).compensation,
        Err(Reason::LetterRunning {
            claimable_from: day("2026-01-04")
        })
    );
    // Received 10 Dec: due from 25 Dec; the scale gives 15 % of 1,000 = 150.00.
    person.demand_letter = Some(day("2025-12-10"));
    let c = run("NL", &t, &person).compensation.unwrap();
    assert_eq!(c.amount, d("150.00"));
    // 200 open: 15 % is 30, the minimum is 40.
    let mut small = invoice("2025-03-31", "200.00", "EUR", DebtorKind::Person);
    small.demand_letter = Some(day("2025-12-10"));
    assert_eq!(
        run("NL", &t, &small).compensation.unwrap().amount,
        d("40.00")
    );
}

#[test]
fn netherlands_adds_a_year_of_interest_to_the_sum() {
    // B2B EUR 1,000 due 31 Dec 2023. Year 1 (2024): 12.50 % (ECB 4.50 + 8) for 182 days,
    // 12.25 % (4.25 + 8) for 184 days: 62.3287671 + 61.7534247 = 124.0821918, added to
    // the sum on 1 Jan 2025 (art. 6:119a(3) BW). Then 11.15 % on 1124.0821918 for 90
    // days: 30.9045611. Total 154.9867529 → 154.99.
    let inv = invoice("2023-12-31", "1000.00", "EUR", DebtorKind::Company);
    let i = run("NL", &terms(Apply::B2b, "2025-03-31"), &inv)
        .interest
        .unwrap();
    assert_eq!(i.amount, d("154.99"));
    assert_eq!(
        i.periods.last().unwrap().balance.round_dp(7),
        d("1124.0821918")
    );
    // Late from 29 February 2024: the year ends on 28 February 2025, and the interest of
    // that year runs on from 28 February.
    let leap = invoice("2024-02-28", "1000.00", "EUR", DebtorKind::Company);
    let i = run("NL", &terms(Apply::B2b, "2025-03-10"), &leap)
        .interest
        .unwrap();
    let last = i.periods.last().unwrap();
    assert_eq!(last.from, day("2025-02-28"));
    assert!(last.balance > d("1000.00"));
}

#[test]
fn china_needs_an_sme_creditor_and_floors_an_agreed_rate_at_the_lpr() {
    // 0.05 % a day: 100,000 × 0.05 % × 30 days = 1,500.00
    let mut inv = invoice("2025-09-30", "100000.00", "CNY", DebtorKind::Company);
    let t = terms(Apply::B2b, "2025-10-30");
    assert!(matches!(
        run("CN", &t, &inv).interest,
        Err(Reason::Condition(_))
    ));
    inv.creditor_is_sme = true;
    inv.debtor_large_or_public = true;
    assert_eq!(run("CN", &t, &inv).interest.unwrap().amount, d("1500.00"));
    // An agreed 2 % a year is below the 1-year LPR when the contract was made (3.00 %
    // from 20 May 2025): the LPR applies, a year of 365 days.
    // 100,000 × 3 % × 30/365 = 246.5753425 → 246.58
    inv.contractual_rate = Some(d("2"));
    inv.contract_date = Some(day("2025-06-01"));
    let i = run("CN", &t, &inv).interest.unwrap();
    assert_eq!(i.amount, d("246.58"));
    assert_eq!(i.periods[0].basis, Basis::Floor);
    assert!(i.verified);
    // A contract of August 2024 meets the LPR of 22 July 2024 (3.35 %, now checked).
    inv.contract_date = Some(day("2024-08-01"));
    let i = run("CN", &t, &inv).interest.unwrap();
    assert_eq!(i.periods[0].rate, d("3.35"));
    assert!(i.verified);
}

#[test]
fn a_contractual_rate_displaces_the_statutory_one_where_the_law_allows() {
    // Germany floors an agreed rate at the statutory one (§ 288(3)).
    // 15 %: 10000 × 15 % × 41/365 = 168.4931507 → 168.49
    let mut inv = invoice("2023-06-20", "10000.00", "EUR", DebtorKind::Company);
    inv.contractual_rate = Some(d("15"));
    let t = terms(Apply::B2b, "2023-07-31");
    let i = run("DE", &t, &inv).interest.unwrap();
    assert_eq!(i.amount, d("168.49"));
    assert!(i.periods.iter().all(|p| p.basis == Basis::Contractual));
    // 5 % is below the statutory rate: the statutory 132.03.
    inv.contractual_rate = Some(d("5"));
    assert_eq!(run("DE", &t, &inv).interest.unwrap().amount, d("132.03"));
    // Italy takes the agreed rate as agreed: 5 % × 41/365 × 10000 = 56.1643836 → 56.16
    assert_eq!(run("IT", &t, &inv).interest.unwrap().amount, d("56.16"));
}

#[test]
fn from_day_and_not_late() {
    let inv = invoice("2023-06-20", "10000.00", "EUR", DebtorKind::Company);
    let mut t = terms(Apply::B2b, "2023-06-20");
    assert_eq!(run("DE", &t, &inv).interest, Err(Reason::NotLate));
    t.as_of = day("2023-07-01");
    t.from_day = 15;
    assert_eq!(
        run("DE", &t, &inv).interest,
        Err(Reason::BeforeFromDay {
            days_late: 11,
            from_day: 15
        })
    );
}

#[test]
fn a_day_outside_a_table_names_the_file_and_what_to_add() {
    let inv = invoice("2026-12-20", "100.00", "EUR", DebtorKind::Company);
    let err = compute(&laws(), "DE", &terms(Apply::B2b, "2027-01-10"), &inv).unwrap_err();
    let text = err.to_string();
    assert!(text.contains("laws/rates/bundesbank_base.yaml"), "{text}");
    assert!(
        text.contains("add the rate in force on 2027-01-01"),
        "{text}"
    );
    // Inside the table but after what was checked: computed, and marked.
    let inv = invoice("2026-06-30", "100.00", "EUR", DebtorKind::Company);
    let i = run("DE", &terms(Apply::B2b, "2026-07-31"), &inv)
        .interest
        .unwrap();
    assert!(!i.verified);
}

#[test]
fn every_shipped_table_covers_2023_to_december_2026() {
    let laws = laws();
    for (name, _) in data::shipped_table_names() {
        let t = laws.table(name).unwrap();
        if t.kind == data::TableKind::Fx {
            continue;
        }
        for when in ["2023-01-01", "2026-12-01"] {
            t.rate_on(day(when))
                .unwrap_or_else(|e| panic!("{name} on {when}: {e}"));
        }
    }
    for code in ["CN", "DE", "EU", "GB", "IT", "JP", "LV", "NL", "PL", "RO"] {
        assert!(laws.law(code).is_some(), "{code}");
    }
}

#[test]
fn config_resolves_the_creditors_law_unless_told_otherwise() {
    let laws = laws();
    let mut c = InterestConfig::default();
    assert_eq!(c.apply, Apply::None);
    assert_eq!(
        c.resolve(&laws, None, Some("NL")),
        Ok(("NL".to_string(), config::Chosen::Creditor))
    );
    assert_eq!(
        c.resolve(&laws, Some("de"), Some("NL")),
        Ok(("DE".to_string(), config::Chosen::Column))
    );
    c.governing_law = Some("GB".into());
    assert_eq!(
        c.resolve(&laws, None, Some("NL")),
        Ok(("GB".to_string(), config::Chosen::GoverningLaw))
    );
    c.governing_law = None;
    assert!(
        c.resolve(&laws, None, None)
            .unwrap_err()
            .contains("interest.law")
    );
    c.law = "nld".into();
    let problems = c.check(&laws);
    assert_eq!(problems.len(), 1);
    assert_eq!(problems[0].key, "law");
    assert!(
        problems[0]
            .message
            .contains("unknown law `nld` in interest.law — did you mean `NL`?"),
        "{:?}",
        problems[0]
    );
    let c: InterestConfig = crate::spans::parse_yaml(
        std::path::Path::new("c.yaml"),
        "apply: b2b\nlaw: auto\nfrom_day: 15\ninclude_in_links: true\n",
    )
    .unwrap();
    assert_eq!(
        (c.apply, c.from_day, c.include_in_links),
        (Apply::B2b, 15, true)
    );
    let Err(crate::diag::Error::Config(d)) = crate::spans::parse_yaml::<InterestConfig>(
        std::path::Path::new("c.yaml"),
        "apply: b2b\nfrom_days: 15\n",
    ) else {
        panic!("a misspelt key is an error")
    };
    assert!(
        d[0].message.contains("did you mean `from_day`?"),
        "{:?}",
        d[0]
    );
}

#[test]
fn a_users_law_folder_is_checked_like_the_shipped_one() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("fr.yaml"),
        "code: FR\nname: France\nstatute: x\nsource: {url: u, title: t}\nday_count: act/365\n\
         interest:\n  b2b: {reference: ecb_mr, margin: \"10\", reset: half_yearly, reference_day: day_before}\n",
    )
    .unwrap();
    let Err(crate::diag::Error::Config(d)) = Laws::shipped_and(dir.path()) else {
        panic!("an unknown table is an error")
    };
    assert!(
        d[0].message
            .contains("unknown rate table `ecb_mr` — did you mean `ecb_mro`?"),
        "{:?}",
        d[0]
    );
}

#[test]
fn an_agreed_rate_without_a_floor_needs_no_table_and_later_payments_are_unknown() {
    // Italy takes an agreed 8 % as agreed, so a campaign date past the ECB table is fine:
    // 1 Dec 2026 - 10 Jan 2027 = 31 + 10 = 41 days, 1000 × 8 % × 41/365 = 8.9863014 → 8.99
    let mut inv = invoice("2026-11-30", "1000.00", "EUR", DebtorKind::Company);
    inv.contractual_rate = Some(d("8"));
    let payments = [(day("2027-02-01"), d("1000"))];
    inv.payments = &payments;
    let o = run("IT", &terms(Apply::B2b, "2027-01-10"), &inv);
    assert_eq!(o.interest.unwrap().amount, d("8.99"));
    // The payment of 1 February is after the campaign date: still open on it.
    assert_eq!(o.open, d("1000.00"));
}
