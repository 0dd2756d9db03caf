//! What demo customers say, per topic, tone and language. Written for Vouch;
//! the tone of each phrase matches the score it is attached to.

/// The tone a phrase carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tone {
    Positive,
    Neutral,
    Negative,
}

/// A topic customers talk about, with phrases in English and Romanian.
pub struct Topic {
    pub name: &'static str,
    /// `[positive, neutral, negative]` phrases in English.
    pub en: [&'static [&'static str]; 3],
    /// The same in Romanian; most real Romanian reviews skip diacritics, so some do too.
    pub ro: [&'static [&'static str]; 3],
}

pub const TOPICS: &[Topic] = &[
    Topic {
        name: "price",
        en: [
            &[
                "Great value for the price.",
                "The pricing is fair for what you get.",
                "Worth every penny!",
            ],
            &[
                "The price is okay, comparable to others.",
                "Pricing is what I expected.",
            ],
            &[
                "Way too expensive for what it does.",
                "The price went up again and I am not happy about it.",
                "Not worth the money.",
            ],
        ],
        ro: [
            &[
                "Raport calitate-preț excelent.",
                "Prețul este corect pentru ce primești.",
                "Merita fiecare ban!",
            ],
            &[
                "Pretul e ok, cam ca la altii.",
                "Prețul este cel la care mă așteptam.",
            ],
            &[
                "Mult prea scump pentru ce oferă.",
                "Au crescut iar preturile si nu sunt multumit.",
                "Nu merita banii.",
            ],
        ],
    },
    Topic {
        name: "support",
        en: [
            &[
                "The support team solved my problem in minutes.",
                "Customer support was friendly and really helpful.",
                "Amazing support, they went above and beyond.",
            ],
            &[
                "Support answered after a day.",
                "I contacted support once about an invoice.",
            ],
            &[
                "Support never answered my emails.",
                "I waited three days for support and the issue is still not fixed.",
                "The support agent was rude and unhelpful.",
            ],
        ],
        ro: [
            &[
                "Echipa de suport mi-a rezolvat problema în câteva minute.",
                "Suportul a fost foarte amabil si de ajutor.",
                "Suport excelent, mereu disponibili.",
            ],
            &[
                "Suportul a raspuns dupa o zi.",
                "Am contactat suportul o singură dată pentru o factură.",
            ],
            &[
                "Nu mi-a raspuns nimeni de la suport.",
                "Am asteptat trei zile dupa suport si problema nu e rezolvata.",
                "Operatorul de la suport a fost nepoliticos.",
            ],
        ],
    },
    Topic {
        name: "delivery",
        en: [
            &[
                "Delivery was fast and the package arrived in perfect condition.",
                "Shipped the next day, very quick delivery.",
            ],
            &[
                "Delivery took about a week.",
                "The parcel arrived on the estimated date.",
            ],
            &[
                "Delivery was very slow and nobody told me why.",
                "My order arrived late and the box was damaged.",
                "The courier lost my package.",
            ],
        ],
        ro: [
            &[
                "Livrarea a fost rapida si coletul a ajuns in stare perfecta.",
                "Livrare foarte rapidă, a doua zi era la mine.",
            ],
            &[
                "Livrarea a durat cam o saptamana.",
                "Coletul a ajuns la data estimata.",
            ],
            &[
                "Livrarea a durat foarte mult si nimeni nu mi-a explicat de ce.",
                "Comanda a ajuns cu intarziere si cutia era deteriorata.",
                "Curierul mi-a pierdut coletul.",
            ],
        ],
    },
    Topic {
        name: "quality",
        en: [
            &[
                "Excellent quality, it feels very solid.",
                "The product quality is outstanding.",
                "Really well made, I love it.",
            ],
            &["Quality is average.", "It does the job, nothing special."],
            &[
                "Poor quality, it broke after two weeks.",
                "Cheap materials, very disappointing.",
                "The product stopped working after a month.",
            ],
        ],
        ro: [
            &[
                "Calitate excelenta, se simte foarte solid.",
                "Calitatea produsului este extraordinară.",
                "Foarte bine facut, imi place mult.",
            ],
            &["Calitatea e medie.", "Isi face treaba, nimic special."],
            &[
                "Calitate slaba, s-a stricat dupa doua saptamani.",
                "Materiale ieftine, foarte dezamagitor.",
                "Produsul nu mai functioneaza dupa o luna.",
            ],
        ],
    },
    Topic {
        name: "usability",
        en: [
            &[
                "The app is very easy to use.",
                "Intuitive interface, I found everything quickly.",
                "So simple, my whole team got it right away.",
            ],
            &[
                "The interface is fine once you get used to it.",
                "Some settings are a bit hidden.",
            ],
            &[
                "The interface is confusing and cluttered.",
                "Way too complicated, I can never find anything.",
                "The app is slow and frustrating to use.",
            ],
        ],
        ro: [
            &[
                "Aplicatia este foarte usor de folosit.",
                "Interfață intuitivă, am găsit totul repede.",
                "Foarte simplu, toata echipa s-a descurcat imediat.",
            ],
            &[
                "Interfata e ok dupa ce te obisnuiesti.",
                "Unele setari sunt cam ascunse.",
            ],
            &[
                "Interfata este confuza si aglomerata.",
                "Mult prea complicat, nu gasesc nimic.",
                "Aplicatia e lenta si enervanta.",
            ],
        ],
    },
    Topic {
        name: "onboarding",
        en: [
            &[
                "Onboarding was smooth and the setup took ten minutes.",
                "The getting started guide was excellent.",
            ],
            &[
                "Setup took an afternoon.",
                "The onboarding call covered the basics.",
            ],
            &[
                "Onboarding was a mess, nobody explained anything.",
                "Setting it up took weeks and a lot of frustration.",
            ],
        ],
        ro: [
            &[
                "Configurarea initiala a fost simpla, gata in zece minute.",
                "Ghidul de inceput a fost excelent.",
            ],
            &[
                "Configurarea a durat o dupa-amiaza.",
                "Sesiunea de instruire a acoperit elementele de baza.",
            ],
            &[
                "Configurarea initiala a fost un haos, nu ne-a explicat nimeni nimic.",
                "Instalarea a durat saptamani si multa frustrare.",
            ],
        ],
    },
    Topic {
        name: "billing",
        en: [
            &[
                "Billing is clear and invoices arrive on time.",
                "Refund was processed quickly, thank you.",
            ],
            &["I pay monthly by card.", "The invoice lists every item."],
            &[
                "I was charged twice and still have no refund.",
                "The invoices are wrong every month.",
                "Hidden fees on my bill, terrible.",
            ],
        ],
        ro: [
            &[
                "Facturarea este clara si facturile vin la timp.",
                "Rambursarea a fost procesata rapid, multumesc.",
            ],
            &[
                "Platesc lunar cu cardul.",
                "Factura listeaza fiecare produs.",
            ],
            &[
                "Am fost taxat de doua ori si tot nu am primit banii inapoi.",
                "Facturile sunt gresite in fiecare luna.",
                "Costuri ascunse pe factura, groaznic.",
            ],
        ],
    },
];

/// Openers that set the overall tone of a comment.
pub const OPENERS_EN: [&[&str]; 3] = [
    &[
        "Love it!",
        "Very happy with the service.",
        "Highly recommend.",
        "",
    ],
    &["It's okay.", "Mixed feelings.", ""],
    &[
        "Really disappointed.",
        "Terrible experience.",
        "I would not recommend it.",
        "",
    ],
];

pub const OPENERS_RO: [&[&str]; 3] = [
    &[
        "Super!",
        "Foarte multumit de serviciu.",
        "Recomand cu încredere.",
        "",
    ],
    &["E ok.", "Sentimente amestecate.", ""],
    &[
        "Foarte dezamagit.",
        "Experienta groaznica.",
        "Nu recomand.",
        "",
    ],
];

/// Review titles per tone.
pub const TITLES_EN: [&[&str]; 3] = [
    &["Excellent", "Great service", "Five stars"],
    &["Decent", "Okay overall"],
    &["Avoid", "Very disappointing", "Not good"],
];
pub const TITLES_RO: [&[&str]; 3] = [
    &["Excelent", "Servicii foarte bune", "Recomand"],
    &["Decent", "Ok per total"],
    &["Evitati", "Dezamagitor", "Nu e bine"],
];
