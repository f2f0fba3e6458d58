//! `dunwell gen`: realistic receivables exports of any size, for samples, tests and
//! benchmarks.
//!
//! Each customer is drawn from a locale (names, addresses, phones, currency, time zone)
//! and a hidden behaviour — forgetful, chronic late, unable, unwilling, new, or paying on
//! time — that shapes their invoices, payments and contact history, so that the default
//! rules find every cluster in roughly the proportions credit teams report. The same seed
//! gives the same files, byte for byte (ChaCha8 is stable across platforms and versions).

use crate::diag::{Error, Result};
use chrono::{Duration, NaiveDate};
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::io::Write;
use std::path::{Path, PathBuf};

pub struct GenOptions {
    pub customers: usize,
    pub seed: u64,
    pub as_of: NaiveDate,
    pub out: PathBuf,
}

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct GenStats {
    pub customers: usize,
    pub invoices: usize,
    pub payments: usize,
    pub events: usize,
}

struct Locale {
    lang: &'static str,
    country: &'static str,
    tz: &'static str,
    currency: &'static str,
    /// Units of this currency per euro, roughly: amounts look native.
    per_eur: u32,
    minor: bool,
    /// (written name, romanised for the e-mail address)
    first: &'static [(&'static str, &'static str)],
    last: &'static [(&'static str, &'static str)],
    streets: &'static [&'static str],
    /// (city, postal code prefix, region)
    cities: &'static [(&'static str, &'static str, &'static str)],
    company: &'static [&'static str],
    phone: fn(&mut ChaCha8Rng) -> String,
    tld: &'static str,
    /// Family name first, as the locale writes it.
    family_first: bool,
}

fn digits(rng: &mut ChaCha8Rng, n: usize) -> String {
    (0..n)
        .map(|_| char::from(b'0' + rng.random_range(0..10u8)))
        .collect()
}

const LOCALES: &[Locale] = &[
    Locale {
        lang: "en",
        country: "GB",
        tz: "Europe/London",
        currency: "GBP",
        per_eur: 1,
        minor: true,
        first: &[
            ("Oliver", "oliver"),
            ("Amelia", "amelia"),
            ("George", "george"),
            ("Isla", "isla"),
            ("Harry", "harry"),
            ("Ava", "ava"),
            ("Jack", "jack"),
            ("Emily", "emily"),
            ("Thomas", "thomas"),
            ("Sophie", "sophie"),
            ("James", "james"),
            ("Grace", "grace"),
        ],
        last: &[
            ("Smith", "smith"),
            ("Jones", "jones"),
            ("Taylor", "taylor"),
            ("Brown", "brown"),
            ("Williams", "williams"),
            ("Wilson", "wilson"),
            ("Evans", "evans"),
            ("Thomas", "thomas"),
            ("Roberts", "roberts"),
            ("O'Connor", "oconnor"),
            ("Walker", "walker"),
            ("Hughes", "hughes"),
        ],
        streets: &[
            "High Street",
            "Station Road",
            "Church Lane",
            "Victoria Road",
            "Green Lane",
            "Manor Road",
            "Park Avenue",
            "Queen Street",
        ],
        cities: &[
            ("London", "SW1A ", "Greater London"),
            ("Manchester", "M1 ", "Greater Manchester"),
            ("Leeds", "LS1 ", "West Yorkshire"),
            ("Bristol", "BS1 ", "Bristol"),
            ("Edinburgh", "EH1 ", "Scotland"),
            ("Cardiff", "CF10 ", "Wales"),
        ],
        company: &[
            "{} & Sons Ltd",
            "{} Logistics Ltd",
            "{} Building Supplies plc",
            "{} Catering Ltd",
        ],
        phone: |r| format!("+447{}", digits(r, 9)),
        tld: "co.uk",
        family_first: false,
    },
    Locale {
        lang: "it",
        country: "IT",
        tz: "Europe/Rome",
        currency: "EUR",
        per_eur: 1,
        minor: true,
        first: &[
            ("Giulia", "giulia"),
            ("Marco", "marco"),
            ("Francesca", "francesca"),
            ("Luca", "luca"),
            ("Chiara", "chiara"),
            ("Alessandro", "alessandro"),
            ("Sofia", "sofia"),
            ("Matteo", "matteo"),
            ("Niccolò", "niccolo"),
            ("Elena", "elena"),
            ("Andrea", "andrea"),
            ("Federica", "federica"),
        ],
        last: &[
            ("Rossi", "rossi"),
            ("Russo", "russo"),
            ("Ferrari", "ferrari"),
            ("Esposito", "esposito"),
            ("Bianchi", "bianchi"),
            ("Romano", "romano"),
            ("Colombo", "colombo"),
            ("Ricci", "ricci"),
            ("Marino", "marino"),
            ("De Luca", "deluca"),
            ("Bruno", "bruno"),
            ("Gallo", "gallo"),
        ],
        streets: &[
            "Via Roma",
            "Via Garibaldi",
            "Corso Vittorio Emanuele II",
            "Via Mazzini",
            "Viale della Libertà",
            "Via Dante Alighieri",
            "Piazza Cavour",
        ],
        cities: &[
            ("Milano", "201", "MI"),
            ("Roma", "001", "RM"),
            ("Torino", "101", "TO"),
            ("Napoli", "801", "NA"),
            ("Bologna", "401", "BO"),
            ("Firenze", "501", "FI"),
        ],
        company: &[
            "{} Costruzioni S.r.l.",
            "Trasporti {} S.p.A.",
            "{} & Figli S.n.c.",
            "Officine {} S.r.l.",
        ],
        phone: |r| format!("+393{}", digits(r, 9)),
        tld: "it",
        family_first: false,
    },
    Locale {
        lang: "pl",
        country: "PL",
        tz: "Europe/Warsaw",
        currency: "PLN",
        per_eur: 4,
        minor: true,
        first: &[
            ("Zofia", "zofia"),
            ("Jakub", "jakub"),
            ("Małgorzata", "malgorzata"),
            ("Łukasz", "lukasz"),
            ("Agnieszka", "agnieszka"),
            ("Piotr", "piotr"),
            ("Katarzyna", "katarzyna"),
            ("Paweł", "pawel"),
            ("Józef", "jozef"),
            ("Anna", "anna"),
            ("Grzegorz", "grzegorz"),
            ("Żaneta", "zaneta"),
        ],
        last: &[
            ("Nowak", "nowak"),
            ("Kowalski", "kowalski"),
            ("Wiśniewski", "wisniewski"),
            ("Wójcik", "wojcik"),
            ("Kamińska", "kaminska"),
            ("Lewandowski", "lewandowski"),
            ("Zieliński", "zielinski"),
            ("Szymańska", "szymanska"),
            ("Woźniak", "wozniak"),
            ("Dąbrowski", "dabrowski"),
            ("Kozłowska", "kozlowska"),
            ("Jankowski", "jankowski"),
        ],
        streets: &[
            "ul. Marszałkowska",
            "ul. Piłsudskiego",
            "ul. Długa",
            "ul. Świętokrzyska",
            "al. Jerozolimskie",
            "ul. Kościuszki",
            "ul. Źródlana",
        ],
        cities: &[
            ("Warszawa", "00-", "mazowieckie"),
            ("Kraków", "30-", "małopolskie"),
            ("Łódź", "90-", "łódzkie"),
            ("Wrocław", "50-", "dolnośląskie"),
            ("Gdańsk", "80-", "pomorskie"),
            ("Poznań", "60-", "wielkopolskie"),
        ],
        company: &[
            "{} Sp. z o.o.",
            "PHU {}",
            "{} i Synowie S.A.",
            "Zakład Usługowy {}",
        ],
        phone: |r| {
            format!(
                "+48{}{}",
                ["5", "6", "7"][r.random_range(0..3)],
                digits(r, 8)
            )
        },
        tld: "pl",
        family_first: false,
    },
    Locale {
        lang: "ro",
        country: "RO",
        tz: "Europe/Bucharest",
        currency: "RON",
        per_eur: 5,
        minor: true,
        first: &[
            ("Andreea", "andreea"),
            ("Ștefan", "stefan"),
            ("Ioana", "ioana"),
            ("Mihai", "mihai"),
            ("Elena", "elena"),
            ("Răzvan", "razvan"),
            ("Cătălina", "catalina"),
            ("Andrei", "andrei"),
            ("Ana-Maria", "anamaria"),
            ("Gheorghe", "gheorghe"),
            ("Bianca", "bianca"),
            ("Țoni", "toni"),
        ],
        last: &[
            ("Popescu", "popescu"),
            ("Ionescu", "ionescu"),
            ("Popa", "popa"),
            ("Rădulescu", "radulescu"),
            ("Stoica", "stoica"),
            ("Țăranu", "taranu"),
            ("Dumitrescu", "dumitrescu"),
            ("Stănescu", "stanescu"),
            ("Munteanu", "munteanu"),
            ("Șerban", "serban"),
            ("Constantinescu", "constantinescu"),
            ("Georgescu", "georgescu"),
        ],
        streets: &[
            "Str. Mihai Eminescu",
            "Bd. Unirii",
            "Calea Victoriei",
            "Str. Ștefan cel Mare",
            "Șos. Kiseleff",
            "Str. Florilor",
        ],
        cities: &[
            ("București", "01", "Sector 1"),
            ("Cluj-Napoca", "40", "Cluj"),
            ("Timișoara", "30", "Timiș"),
            ("Iași", "70", "Iași"),
            ("Brașov", "50", "Brașov"),
            ("Constanța", "90", "Constanța"),
        ],
        company: &[
            "{} Construct S.R.L.",
            "{} Impex S.R.L.",
            "Transport {} S.A.",
            "{} & Asociații S.R.L.",
        ],
        phone: |r| format!("+407{}", digits(r, 8)),
        tld: "ro",
        family_first: false,
    },
    Locale {
        lang: "lv",
        country: "LV",
        tz: "Europe/Riga",
        currency: "EUR",
        per_eur: 1,
        minor: true,
        first: &[
            ("Anna", "anna"),
            ("Jānis", "janis"),
            ("Līga", "liga"),
            ("Andris", "andris"),
            ("Ilze", "ilze"),
            ("Mārtiņš", "martins"),
            ("Inese", "inese"),
            ("Kārlis", "karlis"),
            ("Dace", "dace"),
            ("Edgars", "edgars"),
            ("Sanita", "sanita"),
            ("Ģirts", "girts"),
        ],
        last: &[
            ("Bērziņš", "berzins"),
            ("Kalniņa", "kalnina"),
            ("Ozoliņš", "ozolins"),
            ("Jansone", "jansone"),
            ("Liepiņš", "liepins"),
            ("Krūmiņa", "krumina"),
            ("Zariņš", "zarins"),
            ("Pētersone", "petersone"),
            ("Vītols", "vitols"),
            ("Eglīte", "eglite"),
            ("Ķēniņš", "kenins"),
            ("Šmits", "smits"),
        ],
        streets: &[
            "Brīvības iela",
            "Krišjāņa Valdemāra iela",
            "Elizabetes iela",
            "Tērbatas iela",
            "Čaka iela",
            "Dzirnavu iela",
        ],
        cities: &[
            ("Rīga", "LV-10", "Rīga"),
            ("Daugavpils", "LV-54", "Daugavpils"),
            ("Liepāja", "LV-34", "Liepāja"),
            ("Jelgava", "LV-30", "Jelgava"),
            ("Jūrmala", "LV-20", "Jūrmala"),
        ],
        company: &[
            "SIA {}",
            "{} un partneri SIA",
            "AS {} Būve",
            "SIA {} Loģistika",
        ],
        phone: |r| format!("+3712{}", digits(r, 7)),
        tld: "lv",
        family_first: false,
    },
    Locale {
        lang: "ja",
        country: "JP",
        tz: "Asia/Tokyo",
        currency: "JPY",
        per_eur: 160,
        minor: false,
        first: &[
            ("陽翔", "haruto"),
            ("結衣", "yui"),
            ("蓮", "ren"),
            ("さくら", "sakura"),
            ("大翔", "hiroto"),
            ("美咲", "misaki"),
            ("悠真", "yuma"),
            ("葵", "aoi"),
            ("健太", "kenta"),
            ("由美", "yumi"),
            ("翔太", "shota"),
            ("愛子", "aiko"),
        ],
        last: &[
            ("佐藤", "sato"),
            ("鈴木", "suzuki"),
            ("高橋", "takahashi"),
            ("田中", "tanaka"),
            ("伊藤", "ito"),
            ("渡辺", "watanabe"),
            ("山本", "yamamoto"),
            ("中村", "nakamura"),
            ("小林", "kobayashi"),
            ("加藤", "kato"),
            ("吉田", "yoshida"),
            ("山田", "yamada"),
        ],
        streets: &[
            "千代田1-1-1",
            "丸の内2-7-3",
            "西新宿3-2-11",
            "梅田1-3-1",
            "栄3-5-12",
            "博多駅前2-1-1",
        ],
        cities: &[
            ("千代田区", "100-", "東京都"),
            ("新宿区", "160-", "東京都"),
            ("大阪市北区", "530-", "大阪府"),
            ("名古屋市中区", "460-", "愛知県"),
            ("福岡市博多区", "812-", "福岡県"),
            ("札幌市中央区", "060-", "北海道"),
        ],
        company: &[
            "株式会社{}商事",
            "{}工業株式会社",
            "{}建設株式会社",
            "有限会社{}",
        ],
        phone: |r| {
            format!(
                "+81{}{}",
                ["70", "80", "90"][r.random_range(0..3)],
                digits(r, 8)
            )
        },
        tld: "jp",
        family_first: true,
    },
    Locale {
        lang: "zh",
        country: "CN",
        tz: "Asia/Shanghai",
        currency: "CNY",
        per_eur: 8,
        minor: true,
        first: &[
            ("伟", "wei"),
            ("芳", "fang"),
            ("娜", "na"),
            ("秀英", "xiuying"),
            ("敏", "min"),
            ("静", "jing"),
            ("强", "qiang"),
            ("磊", "lei"),
            ("洋", "yang"),
            ("艳", "yan"),
            ("杰", "jie"),
            ("婷", "ting"),
        ],
        last: &[
            ("王", "wang"),
            ("李", "li"),
            ("张", "zhang"),
            ("刘", "liu"),
            ("陈", "chen"),
            ("杨", "yang"),
            ("黄", "huang"),
            ("赵", "zhao"),
            ("吴", "wu"),
            ("周", "zhou"),
            ("徐", "xu"),
            ("孙", "sun"),
        ],
        streets: &[
            "建国路88号",
            "南京东路100号",
            "天河路385号",
            "中关村大街27号",
            "人民路1号",
            "解放大道688号",
        ],
        cities: &[
            ("北京市朝阳区", "1000", "北京"),
            ("上海市黄浦区", "2000", "上海"),
            ("广州市天河区", "5106", "广东"),
            ("深圳市南山区", "5180", "广东"),
            ("杭州市西湖区", "3100", "浙江"),
            ("成都市锦江区", "6100", "四川"),
        ],
        company: &[
            "{}氏贸易有限公司",
            "{}记建筑工程有限公司",
            "{}氏科技有限公司",
            "{}家物流有限公司",
        ],
        phone: |r| {
            format!(
                "+861{}{}",
                ["3", "5", "8"][r.random_range(0..3)],
                digits(r, 9)
            )
        },
        tld: "cn",
        family_first: true,
    },
];

#[derive(Clone, Copy, PartialEq, Eq)]
enum Behaviour {
    Forgetful,
    ChronicLate,
    Unable,
    Unwilling,
    New,
    OnTime,
}

fn pick_behaviour(rng: &mut ChaCha8Rng) -> Behaviour {
    match rng.random_range(0..100) {
        0..30 => Behaviour::Forgetful,
        30..55 => Behaviour::ChronicLate,
        55..70 => Behaviour::Unable,
        70..82 => Behaviour::Unwilling,
        82..92 => Behaviour::New,
        _ => Behaviour::OnTime,
    }
}

/// Writes `customers.csv`, `invoices.csv`, `payments.csv` and `events.csv` into `out`.
pub fn generate(opts: &GenOptions) -> Result<GenStats> {
    std::fs::create_dir_all(&opts.out).map_err(|e| Error::io(&opts.out, e))?;
    let open = |name: &str| -> Result<(PathBuf, csv::Writer<std::io::BufWriter<std::fs::File>>)> {
        let p = opts.out.join(name);
        let f = std::fs::File::create(&p).map_err(|e| Error::io(&p, e))?;
        Ok((
            p,
            csv::Writer::from_writer(std::io::BufWriter::with_capacity(1 << 20, f)),
        ))
    };
    let (cp, mut cw) = open("customers.csv")?;
    let (ip, mut iw) = open("invoices.csv")?;
    let (pp, mut pw) = open("payments.csv")?;
    let (ep, mut ew) = open("events.csv")?;
    let mut g = Gen {
        rng: ChaCha8Rng::seed_from_u64(opts.seed),
        as_of: opts.as_of,
        stats: GenStats::default(),
        inv: vec![],
        pay: vec![],
        ev: vec![],
    };
    let w = |p: &Path, r: std::result::Result<(), csv::Error>| {
        r.map_err(|e| Error::io(p, std::io::Error::other(e)))
    };
    w(&cp, cw.write_record(CUSTOMER_HEADER))?;
    w(
        &ip,
        iw.write_record([
            "invoice_id",
            "customer_id",
            "issue_date",
            "due_date",
            "amount",
            "currency",
            "amount_paid",
            "status",
            "disputed",
        ]),
    )?;
    w(
        &pp,
        pw.write_record([
            "payment_id",
            "customer_id",
            "invoice_id",
            "date",
            "amount",
            "method",
            "status",
        ]),
    )?;
    w(
        &ep,
        ew.write_record([
            "customer_id",
            "date",
            "channel",
            "kind",
            "reference",
            "note",
        ]),
    )?;
    for n in 0..opts.customers {
        let row = g.customer(n);
        w(&cp, cw.write_record(&row))?;
        for r in g.inv.drain(..) {
            w(&ip, iw.write_record(&r))?;
        }
        for r in g.pay.drain(..) {
            w(&pp, pw.write_record(&r))?;
        }
        for r in g.ev.drain(..) {
            w(&ep, ew.write_record(&r))?;
        }
    }
    for (p, mut wr) in [(cp, cw), (ip, iw), (pp, pw), (ep, ew)] {
        wr.flush().map_err(|e| Error::io(&p, e))?;
        wr.into_inner()
            .map_err(|e| Error::io(&p, std::io::Error::other(e.to_string())))?
            .flush()
            .map_err(|e| Error::io(&p, e))?;
    }
    g.stats.customers = opts.customers;
    Ok(g.stats)
}

const CUSTOMER_HEADER: [&str; 20] = [
    "customer_id",
    "name",
    "kind",
    "email",
    "phone",
    "address_line1",
    "address_line2",
    "postal_code",
    "city",
    "region",
    "country",
    "language",
    "timezone",
    "consent_email",
    "consent_sms",
    "consent_letter",
    "hold",
    "credit_limit",
    "account_manager",
    "contract_no",
];

struct Gen {
    rng: ChaCha8Rng,
    as_of: NaiveDate,
    stats: GenStats,
    inv: Vec<[String; 9]>,
    pay: Vec<[String; 7]>,
    ev: Vec<[String; 6]>,
}

impl Gen {
    fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        items[self.rng.random_range(0..items.len())]
    }

    fn chance(&mut self, percent: u32) -> bool {
        self.rng.random_range(0..100) < percent
    }

    fn customer(&mut self, n: usize) -> Vec<String> {
        let loc = &LOCALES[self.rng.random_range(0..LOCALES.len())];
        let id = format!("C{:07}", n + 1);
        let (first, first_r) = self.pick(loc.first);
        let (last, last_r) = self.pick(loc.last);
        let company = self.chance(20);
        let name = if company {
            self.pick(loc.company).replace("{}", last)
        } else if loc.family_first {
            format!("{last}{}{first}", if loc.lang == "ja" { " " } else { "" })
        } else {
            format!("{first} {last}")
        };
        let email = if company {
            format!("accounts@{last_r}-{}.example.{}", n % 997, loc.tld)
        } else {
            format!("{first_r}.{last_r}{}@example.{}", n % 97, loc.tld)
        };
        let (city, postal, region) = self.pick(loc.cities);
        let street = format!(
            "{} {}",
            self.pick(loc.streets),
            self.rng.random_range(1..120)
        );
        let postal_code = format!("{postal}{}", digits(&mut self.rng, 3));
        let hold = if self.chance(2) {
            self.pick(&[
                "dispute",
                "hardship",
                "bankruptcy",
                "deceased",
                "legal",
                "do_not_contact",
            ])
        } else {
            ""
        };
        let behaviour = pick_behaviour(&mut self.rng);
        let scale = if company { 20 } else { 1 };
        self.history(&id, loc, behaviour, scale);
        let credit_limit = if company {
            format!("{}", 5000 * loc.per_eur * self.rng.random_range(1..20))
        } else {
            String::new()
        };
        let phone = (loc.phone)(&mut self.rng);
        vec![
            id,
            name,
            if company { "company" } else { "person" }.into(),
            email,
            phone,
            street,
            if self.chance(15) {
                format!(
                    "{} {}",
                    if loc.lang == "pl" { "lok." } else { "Apt" },
                    self.rng.random_range(1..40)
                )
            } else {
                String::new()
            },
            postal_code,
            city.into(),
            region.into(),
            loc.country.into(),
            loc.lang.into(),
            loc.tz.into(),
            self.chance(95).to_string(),
            self.chance(80).to_string(),
            "true".into(),
            hold.into(),
            credit_limit,
            self.pick(&[
                "Anna K.",
                "Marco B.",
                "Piotr W.",
                "Ioana P.",
                "Jānis B.",
                "佐藤",
                "王芳",
            ])
            .into(),
            format!("K-{}", 10_000 + n),
        ]
    }

    /// One amount in the customer's currency, as the ERP writes it.
    fn amount(&mut self, loc: &Locale, scale: u32) -> (u64, String) {
        let cents = u64::from(self.rng.random_range(2_000..60_000u32))
            * u64::from(scale)
            * u64::from(loc.per_eur);
        if loc.minor {
            (cents, format!("{}.{:02}", cents / 100, cents % 100))
        } else {
            let whole = cents / 100;
            (whole, whole.to_string())
        }
    }

    fn money(loc: &Locale, units: u64) -> String {
        if loc.minor {
            format!("{}.{:02}", units / 100, units % 100)
        } else {
            units.to_string()
        }
    }

    /// Invoices, payments and events for one customer: settled history, then what is open.
    fn history(&mut self, id: &str, loc: &Locale, b: Behaviour, scale: u32) {
        use Behaviour::*;
        let settled = match b {
            New => usize::from(self.chance(30)),
            Forgetful | OnTime => self.rng.random_range(2..4),
            ChronicLate => self.rng.random_range(2..5),
            Unable | Unwilling => self.rng.random_range(2..4),
        };
        let open = match b {
            Unable => 2,
            Unwilling => self.rng.random_range(1..3),
            _ => 1,
        };
        let terms = self.pick(&[14i64, 30, 30, 60]);
        let total = settled + open;
        let mut k = 0;
        // Settled invoices: one a month going back from the open ones.
        for s in 0..settled {
            k += 1;
            let months_back = (total - s) as i64;
            let issue =
                self.as_of - Duration::days(30 * months_back + 20 + self.rng.random_range(0..10));
            let due = issue + Duration::days(terms);
            let inv_id = format!("INV-{}-{k:02}", &id[1..]);
            let (units, amount) = self.amount(loc, scale);
            let late = match b {
                Forgetful => {
                    if self.chance(20) {
                        self.rng.random_range(1..8)
                    } else {
                        -self.rng.random_range(0..5)
                    }
                }
                OnTime | New => -self.rng.random_range(0..6),
                ChronicLate => {
                    if self.chance(80) {
                        self.rng.random_range(8..40)
                    } else {
                        0
                    }
                }
                Unable => self.rng.random_range(10..50),
                Unwilling => self.rng.random_range(30..90),
            };
            let paid_on = (due + Duration::days(late)).min(self.as_of - Duration::days(1));
            if late > 0 && (matches!(b, Unable | Unwilling) || self.chance(50)) {
                {
                    let d = due + Duration::days(3);
                    if d < paid_on {
                        let channel = self.pick(&["email", "email", "sms", "letter"]);
                        self.event(id, d, channel, "reminder_sent", &inv_id, "");
                    }
                }
            }
            if b == Unable && self.chance(70) {
                // Paid in two instalments.
                let half = units / 2;
                self.payment(
                    id,
                    &inv_id,
                    paid_on - Duration::days(12),
                    &Self::money(loc, half),
                    "transfer",
                    "ok",
                );
                self.payment(
                    id,
                    &inv_id,
                    paid_on,
                    &Self::money(loc, units - half),
                    "transfer",
                    "ok",
                );
            } else {
                let method = match b {
                    OnTime if self.chance(50) => "direct_debit",
                    _ => self.pick(&["transfer", "transfer", "card", "wallet"]),
                };
                self.payment(id, &inv_id, paid_on, &amount, method, "ok");
            }
            self.invoice(
                &inv_id,
                id,
                issue,
                due,
                &amount,
                loc.currency,
                &amount,
                "paid",
                false,
            );
        }
        // Open invoices: how far past due depends on who they are.
        for o in 0..open {
            k += 1;
            let dpd: i64 = match b {
                Forgetful => self.rng.random_range(2..25),
                OnTime => -self.rng.random_range(1..6),
                ChronicLate => {
                    if self.chance(25) {
                        -self.rng.random_range(1..6)
                    } else {
                        self.rng.random_range(5..45)
                    }
                }
                Unable => self.rng.random_range(20..80) + 30 * (open - 1 - o) as i64,
                Unwilling => self.rng.random_range(45..150),
                New => self.rng.random_range(3..40),
            };
            let due = self.as_of - Duration::days(dpd);
            let issue = due - Duration::days(terms);
            let inv_id = format!("INV-{}-{k:02}", &id[1..]);
            let (units, amount) = self.amount(loc, scale);
            let mut paid = String::from("0");
            if b == Unable && o == 0 {
                let part = units / 3;
                paid = Self::money(loc, part);
                self.payment(
                    id,
                    &inv_id,
                    due + Duration::days(5).min(Duration::days(dpd.max(1) - 1)),
                    &paid,
                    "transfer",
                    "ok",
                );
            }
            let disputed = self.chance(2);
            self.invoice(
                &inv_id,
                id,
                issue,
                due,
                &amount,
                loc.currency,
                &paid,
                "open",
                disputed,
            );
            if dpd > 7 && b != OnTime && o == 0 {
                self.event(
                    id,
                    due + Duration::days(7),
                    "email",
                    "reminder_sent",
                    &inv_id,
                    "",
                );
                if self.chance(30) {
                    self.event(id, due + Duration::days(8), "email", "opened", &inv_id, "");
                }
            }
            match b {
                Unable if o == 0 => {
                    if self.chance(50) {
                        self.payment(
                            id,
                            &inv_id,
                            due + Duration::days(2).min(Duration::days(dpd.max(1) - 1)),
                            &Self::money(loc, units / 4),
                            "direct_debit",
                            "bounced",
                        );
                    } else {
                        self.event(
                            id,
                            due + Duration::days(10).min(Duration::days(dpd.max(1) - 1)),
                            "call",
                            "plan_agreed",
                            &inv_id,
                            "3 instalments",
                        );
                        self.event(
                            id,
                            (due + Duration::days(40)).min(self.as_of - Duration::days(1)),
                            "call",
                            "plan_broken",
                            &inv_id,
                            "",
                        );
                    }
                }
                Unwilling if o == 0 => {
                    let mut d = due + Duration::days(10);
                    for _ in 0..self.rng.random_range(1..3) {
                        self.event(
                            id,
                            d.min(self.as_of - Duration::days(1)),
                            "call",
                            "promise_to_pay",
                            &inv_id,
                            "will pay next week",
                        );
                        self.event(
                            id,
                            (d + Duration::days(8)).min(self.as_of - Duration::days(1)),
                            "call",
                            "promise_broken",
                            &inv_id,
                            "",
                        );
                        d += Duration::days(15);
                    }
                    for r in 0..2 {
                        let when = self.as_of - Duration::days(20 + 15 * r);
                        if when > due {
                            let channel = self.pick(&["email", "sms", "letter"]);
                            self.event(id, when, channel, "reminder_sent", &inv_id, "");
                        }
                    }
                    if self.chance(15) {
                        self.event(
                            id,
                            self.as_of - Duration::days(5),
                            "email",
                            "complaint",
                            &inv_id,
                            "disputes the late fee",
                        );
                    }
                }
                _ => {}
            }
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn invoice(
        &mut self,
        inv_id: &str,
        id: &str,
        issue: NaiveDate,
        due: NaiveDate,
        amount: &str,
        cur: &str,
        paid: &str,
        status: &str,
        disputed: bool,
    ) {
        self.stats.invoices += 1;
        self.inv.push([
            inv_id.into(),
            id.into(),
            issue.to_string(),
            due.to_string(),
            amount.into(),
            cur.into(),
            paid.into(),
            status.into(),
            disputed.to_string(),
        ]);
    }

    fn payment(
        &mut self,
        id: &str,
        inv_id: &str,
        date: NaiveDate,
        amount: &str,
        method: &str,
        status: &str,
    ) {
        self.stats.payments += 1;
        let pid = format!("PAY-{}-{:02}", &id[1..], self.pay.len() + 1);
        self.pay.push([
            pid,
            id.into(),
            inv_id.into(),
            date.min(self.as_of).to_string(),
            amount.into(),
            method.into(),
            status.into(),
        ]);
    }

    fn event(
        &mut self,
        id: &str,
        date: NaiveDate,
        channel: &str,
        kind: &str,
        reference: &str,
        note: &str,
    ) {
        if date > self.as_of {
            return;
        }
        self.stats.events += 1;
        self.ev.push([
            id.into(),
            date.to_string(),
            channel.into(),
            kind.into(),
            reference.into(),
            note.into(),
        ]);
    }
}

impl GenStats {
    pub fn write_line(&self, out: &mut impl Write) -> std::io::Result<()> {
        writeln!(
            out,
            "{} customers, {} invoices, {} payments, {} events",
            self.customers, self.invoices, self.payments, self.events
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_bytes() {
        let dir = tempfile::tempdir().unwrap();
        let run = |sub: &str, seed| {
            let out = dir.path().join(sub);
            generate(&GenOptions {
                customers: 50,
                seed,
                as_of: NaiveDate::from_ymd_opt(2026, 11, 20).unwrap(),
                out: out.clone(),
            })
            .unwrap();
            std::fs::read(out.join("invoices.csv")).unwrap()
        };
        assert_eq!(run("a", 7), run("b", 7));
        assert_ne!(run("a", 7), run("c", 8));
    }
}
