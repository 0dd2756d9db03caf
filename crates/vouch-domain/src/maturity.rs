//! The advocacy maturity self-assessment: four levels of our field, scored
//! across seven dimensions, one question each, in English and Romanian.
//!
//! The levels:
//! 1. individual advocates answering urgent needs;
//! 2. an advocacy team that also gathers and prioritises customer needs;
//! 3. an internal team that coordinates advocacy across the company;
//! 4. every strategy and every employee practising advocacy.
//!
//! Each question's four answers describe that dimension at each level; the
//! company picks the one that fits. Its overall level is the one every
//! dimension has reached (the lowest): a company is as mature as its
//! weakest practice.

use std::collections::BTreeMap;

use crate::DomainError;

crate::names::named_enum! {
    /// What a company's advocacy is assessed on.
    pub enum Dimension as "maturity dimension" {
        /// Which sources of customer feedback are known and collected.
        CustomerKnowledge = "customer_knowledge",
        /// Whether feedback is catalogued in one place, tagged.
        FeedbackCatalogue = "feedback_catalogue",
        /// The tools that analyse it.
        Analysis = "analysis",
        /// Who does what.
        Roles = "roles",
        /// Whether unhappy customers are heard back, in time.
        CloseTheLoop = "close_the_loop",
        /// The advocate program.
        AdvocateProgram = "advocate_program",
        /// Measurement and goals.
        Measurement = "measurement",
    }
}

/// The levels' names, 1 to 4, in English and Romanian.
pub const LEVELS: [(&str, &str); 4] = [
    (
        "Individual advocates answer urgent needs",
        "Susținători individuali răspund nevoilor urgente",
    ),
    (
        "An advocacy team also gathers and prioritises customer needs",
        "O echipă dedicată adună și prioritizează și nevoile clienților",
    ),
    (
        "An internal team coordinates advocacy across the company",
        "O echipă internă coordonează susținerea clienților în toată compania",
    ),
    (
        "Every strategy and every employee practises advocacy",
        "Fiecare strategie și fiecare angajat practică susținerea clienților",
    ),
];

/// One dimension's question and its four answers (level 1 to 4), each in
/// English and Romanian.
pub struct Question {
    pub dimension: Dimension,
    pub text: (&'static str, &'static str),
    pub answers: [(&'static str, &'static str); 4],
}

/// The questionnaire, written by us.
pub const QUESTIONS: [Question; 7] = [
    Question {
        dimension: Dimension::CustomerKnowledge,
        text: (
            "Where do you hear from your customers?",
            "De unde aflați ce spun clienții?",
        ),
        answers: [
            (
                "Where someone happens to listen: a complaint, a call",
                "De unde se nimerește: o reclamație, un telefon",
            ),
            (
                "Surveys and the main review sites, collected by the team",
                "Sondaje și principalele site-uri de recenzii, adunate de echipă",
            ),
            (
                "Every known source, identified and collected on a schedule",
                "Toate sursele cunoscute, identificate și adunate periodic",
            ),
            (
                "Every source, and every team adds what it hears",
                "Toate sursele, iar fiecare echipă adaugă ce aude",
            ),
        ],
    },
    Question {
        dimension: Dimension::FeedbackCatalogue,
        text: ("How is feedback kept?", "Cum este păstrat feedbackul?"),
        answers: [
            (
                "In inboxes and people's heads",
                "În căsuțe de e-mail și în mintea oamenilor",
            ),
            (
                "In a shared list the team keeps",
                "Într-o listă comună ținută de echipă",
            ),
            (
                "In one catalogue, tagged by topic and sentiment",
                "Într-un singur catalog, etichetat pe teme și sentiment",
            ),
            (
                "In one catalogue every team reads and acts on",
                "Într-un singur catalog pe care îl citește și îl folosește fiecare echipă",
            ),
        ],
    },
    Question {
        dimension: Dimension::Analysis,
        text: ("How is feedback analysed?", "Cum este analizat feedbackul?"),
        answers: [
            ("It is read, case by case", "Este citit, caz cu caz"),
            (
                "Scores are counted now and then",
                "Scorurile sunt numărate din când în când",
            ),
            (
                "Scores with their margins, topics and trends, every period",
                "Scoruri cu marjele lor, teme și tendințe, în fiecare perioadă",
            ),
            (
                "Analyses drive every plan, tuned to the company's own words",
                "Analizele stau la baza fiecărui plan, adaptate la cuvintele clienților",
            ),
        ],
    },
    Question {
        dimension: Dimension::Roles,
        text: (
            "Who is responsible for customer advocacy?",
            "Cine răspunde de susținerea clienților?",
        ),
        answers: [
            ("Whoever cares", "Cine se nimerește"),
            ("A small advocacy team", "O echipă mică dedicată"),
            (
                "A team that coordinates owners in every department",
                "O echipă care coordonează responsabili din fiecare departament",
            ),
            (
                "Everyone, with named roles from agents to the board",
                "Toată lumea, cu roluri numite, de la agenți la conducere",
            ),
        ],
    },
    Question {
        dimension: Dimension::CloseTheLoop,
        text: (
            "What happens when a customer is unhappy?",
            "Ce se întâmplă când un client este nemulțumit?",
        ),
        answers: [
            (
                "Someone answers if they notice",
                "Cineva răspunde dacă observă",
            ),
            (
                "The team calls the loudest back",
                "Echipa îi sună înapoi pe cei mai vocali",
            ),
            (
                "Every detractor gets a task with a deadline, and it is kept",
                "Fiecare detractor primește o sarcină cu termen, iar termenul este respectat",
            ),
            (
                "Every detractor is heard in time, and the cause is fixed",
                "Fiecare detractor este ascultat la timp, iar cauza este rezolvată",
            ),
        ],
    },
    Question {
        dimension: Dimension::AdvocateProgram,
        text: (
            "How do you work with your happiest customers?",
            "Cum lucrați cu clienții cei mai mulțumiți?",
        ),
        answers: [
            (
                "We thank them when they speak up",
                "Le mulțumim când ne laudă",
            ),
            (
                "We ask some for reviews and references",
                "Le cerem unora recenzii și recomandări",
            ),
            (
                "A program invites promoters, rewards and recognises them",
                "Un program îi invită pe promotori, îi recompensează și îi recunoaște",
            ),
            (
                "Advocates shape products and campaigns with us",
                "Susținătorii construiesc cu noi produse și campanii",
            ),
        ],
    },
    Question {
        dimension: Dimension::Measurement,
        text: (
            "How do you measure advocacy?",
            "Cum măsurați susținerea clienților?",
        ),
        answers: [
            ("We do not", "Nu o măsurăm"),
            ("A score now and then", "Un scor din când în când"),
            (
                "KPIs with their intervals, and goals with deadlines",
                "Indicatori cu intervalele lor și obiective cu termene",
            ),
            (
                "Goals on every team's plan, checked as they go",
                "Obiective în planul fiecărei echipe, urmărite pe parcurs",
            ),
        ],
    },
];

/// The question of `dimension`.
pub fn question(dimension: Dimension) -> &'static Question {
    QUESTIONS
        .iter()
        .find(|q| q.dimension == dimension)
        .expect("every dimension has its question (tested)")
}

/// A level, checked: 1 to 4.
pub fn level(value: i64, what: &'static str) -> Result<u8, DomainError> {
    match u8::try_from(value) {
        Ok(l @ 1..=4) => Ok(l),
        _ => Err(DomainError::Invalid {
            what,
            reason: format!("{value} is not a level (1 to 4)"),
        }),
    }
}

/// The overall level of answers that cover every dimension: the lowest.
pub fn overall_level(levels: &BTreeMap<Dimension, u8>) -> Result<u8, DomainError> {
    if let Some(missing) = Dimension::ALL.iter().find(|d| !levels.contains_key(d)) {
        return Err(DomainError::Invalid {
            what: "assessment",
            reason: format!("no answer for {missing}"),
        });
    }
    Ok(levels.values().copied().min().unwrap_or(1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_dimension_has_one_question_with_four_answers_in_both_languages() {
        assert_eq!(QUESTIONS.len(), Dimension::ALL.len());
        for d in Dimension::ALL {
            let q = question(*d);
            assert!(!q.text.0.is_empty() && !q.text.1.is_empty());
            for (en, ro) in q.answers {
                assert!(!en.is_empty() && !ro.is_empty() && en != ro);
            }
        }
    }

    #[test]
    fn the_overall_level_is_the_weakest_dimension() {
        let mut levels: BTreeMap<Dimension, u8> = Dimension::ALL.iter().map(|d| (*d, 3)).collect();
        assert_eq!(overall_level(&levels), Ok(3));
        levels.insert(Dimension::Roles, 1);
        assert_eq!(overall_level(&levels), Ok(1));
        levels.remove(&Dimension::Roles);
        assert!(
            overall_level(&levels)
                .unwrap_err()
                .to_string()
                .contains("roles")
        );
        assert!(level(5, "answer").is_err() && level(0, "answer").is_err());
        assert_eq!(level(4, "answer"), Ok(4));
    }
}
