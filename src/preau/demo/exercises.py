"""The demo school's self-marking exercise: a homework item for the first class whose
content is an exercise with one question of every kind, also in the teacher's bank."""

from __future__ import annotations

import hashlib
from datetime import timedelta
from decimal import Decimal

import msgspec
from sqlalchemy.ext.asyncio import AsyncConnection

from preau.actions.context import Services
from preau.adapters.sql.schema import bank_questions, exercises, homework
from preau.domain.exercises import gift
from preau.domain.exercises.attempts import Policy
from preau.domain.exercises.questions import (
    Blank,
    Blanks,
    Choice,
    Numeric,
    NumericAnswer,
    Ordering,
    Question,
    TextAnswer,
    check_question,
)

GIFT = """
::Fractions::Quelle fraction est égale à 1/2 ? {
  ~2/3
  =3/6#Oui : 3/6 \\= 1/2.
  ~1/3#Non : 1/3 est plus petit.
}

::Nombres premiers::Lesquels de ces nombres sont premiers ? {
  ~%50%7 ~%50%13 ~%-50%9#9 \\= 3 × 3. ~%-50%15
}

::Vrai ou faux::La somme des angles d'un triangle vaut 180°. {T#Si : toujours 180°.#Bravo.}

::Calcul::Combien font 3/4 de 20 ? {#15}

::Vocabulaire::Comment appelle-t-on le nombre du bas d'une fraction ? {
  =dénominateur#Oui. =le dénominateur
}

::Capitales::Associez chaque pays à sa capitale. {
  =France -> Paris =Italie -> Rome =Espagne -> Madrid
}

::Explication::Expliquez avec vos mots pourquoi 2/4 et 1/2 sont égales. {}
"""


def demo_questions() -> list[Question]:
    report = gift.read(GIFT)
    if report.problems:  # the demo's own text: a mistake here is a bug
        raise ValueError(f"demo GIFT: {report.problems}")
    questions = [item.question for item in report.imported]
    questions += [
        Ordering(
            title="Ordre",
            text="Rangez ces nombres du plus petit au plus grand.",
            items=(r"\( \dfrac{1}{4} \)", r"\( \dfrac{1}{3} \)", r"\( \dfrac{1}{2} \)", "3/4"),
        ),
        Blanks(
            title="Texte à trous",
            text="Dans 3/5, 3 est le {1} et 5 est le {2}.",
            blanks=(
                Blank(answers=(TextAnswer(text="numérateur"),)),
                Blank(choices=(Choice(text="dénominateur", weight=100), Choice(text="quotient"))),
            ),
        ),
        Numeric(
            title="Mesure",
            text="Un segment mesure 3,5 cm. Quelle est sa longueur en millimètres ? "
            "Donnez l'unité.",
            answers=(NumericAnswer(low=Decimal("0.035"), high=Decimal("0.035")),),
            units={"m": Decimal(1), "cm": Decimal("0.01"), "mm": Decimal("0.001")},
            unit_required=True,
        ),
    ]
    return [check_question(question) for question in questions]


async def seed_demo_exercise(
    services: Services, connection: AsyncConnection, school_id: int, teacher_id: int, class_id: int
) -> None:
    """Inside the demo's transaction."""
    now = services.now()
    result = await connection.execute(
        homework.insert().values(
            school_id=school_id,
            group_id=class_id,
            author_id=teacher_id,
            title="Quiz : fractions, et un peu de géographie",
            instructions="Un exercice autocorrigé : vos réponses sont enregistrées au fur et "
            "à mesure. Deux essais, la meilleure note compte.",
            instructions_format="text",
            publish_at=now,
            due_at=now.replace(hour=17, minute=0, second=0, microsecond=0) + timedelta(days=4),
            estimated_minutes=20,
            hand_in_expected=True,
            chosen_pupils=False,
            revision=1,
            subject="Mathématiques",
            created_at=now,
            updated_at=now,
        )
    )
    homework_id = int(result.inserted_primary_key[0])  # type: ignore[index]  # one key
    questions = demo_questions()
    await connection.execute(
        exercises.insert().values(
            school_id=school_id,
            homework_id=homework_id,
            author_id=teacher_id,
            policy=msgspec.json.encode(Policy(attempts=2)).decode(),
            questions=msgspec.json.encode(questions).decode(),
            created_at=now,
            updated_at=now,
        )
    )
    bodies = [msgspec.json.encode(question).decode() for question in questions]
    await connection.execute(
        bank_questions.insert(),
        [
            {
                "school_id": school_id,
                "author_id": teacher_id,
                "kind": str(question.__struct_config__.tag),
                "title": question.title,
                "body": body,
                "digest": hashlib.sha256(body.encode()).hexdigest(),
                "created_at": now,
            }
            for question, body in zip(questions, bodies, strict=True)
        ],
    )
