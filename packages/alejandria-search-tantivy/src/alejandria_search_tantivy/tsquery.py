"""Postgres's own parse of the user's query (a ``tsquery``) as a Tantivy query.

Core computes the query as ``websearch_to_tsquery`` in every configured language (or, for
hybrid's match-any leg, the stemmed words OR-ed); this module reads the tsquery's text form
into a small tree and builds the same boolean logic over the index's fields: every word in
the heading, text or tags (scored BM25, the heading weighted most), phrases at the same
distances, exclusions and alternatives. Postgres and Tantivy thus agree on what matches.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import tantivy

#: BM25 weight of a word found in each field, after ``ts_rank``'s default weights
#: (heading 1.0, text 0.4, tags 0.2) relative to the text.
FIELD_BOOSTS = {"heading": 2.5, "body": 1.0, "tags": 0.5}


class QuerySyntaxError(ValueError):
    """A tsquery text this parser does not read (a bug: Postgres wrote it)."""


@dataclass(frozen=True)
class Term:
    lexeme: str


@dataclass(frozen=True)
class Not:
    child: Node


@dataclass(frozen=True)
class And:
    children: tuple[Node, ...]


@dataclass(frozen=True)
class Or:
    children: tuple[Node, ...]


@dataclass(frozen=True)
class Phrase:
    """Words at fixed offsets from the first (``'a' <-> 'b' <2> 'c'`` is a@0, b@1, c@3)."""

    words: tuple[tuple[int, str], ...]


Node = Term | Not | And | Or | Phrase

_TOKEN = re.compile(r"\s*(?:'((?:[^'\\]|''|\\.)*)'(?::[*A-D]+)?|(<->|<\d+>)|([&|!()]))")


def _tokens(text: str) -> list[tuple[str, str]]:
    tokens: list[tuple[str, str]] = []
    position = 0
    text = text.rstrip()
    while position < len(text):
        match = _TOKEN.match(text, position)
        if match is None:
            raise QuerySyntaxError(f"unexpected text in tsquery at {position}: {text!r}")
        lexeme, distance, operator = match.groups()
        if lexeme is not None:
            tokens.append(("term", re.sub(r"''|\\(.)",
                                          lambda m: m.group(1) or "'", lexeme)))
        elif distance is not None:
            tokens.append(("dist", "1" if distance == "<->" else distance[1:-1]))
        else:
            tokens.append(("op", operator))
        position = match.end()
    return tokens


class _Parser:
    """Precedence as Postgres's: ``!`` binds tightest, then ``<N>``, then ``&``, then ``|``."""

    def __init__(self, tokens: list[tuple[str, str]]) -> None:
        self.tokens = tokens
        self.at = 0

    def peek(self) -> tuple[str, str] | None:
        return self.tokens[self.at] if self.at < len(self.tokens) else None

    def take(self) -> tuple[str, str]:
        token = self.peek()
        if token is None:
            raise QuerySyntaxError("tsquery ends too early")
        self.at += 1
        return token

    def parse_or(self) -> Node:
        children = [self.parse_and()]
        while self.peek() == ("op", "|"):
            self.take()
            children.append(self.parse_and())
        return children[0] if len(children) == 1 else Or(tuple(children))

    def parse_and(self) -> Node:
        children = [self.parse_phrase()]
        while self.peek() == ("op", "&"):
            self.take()
            children.append(self.parse_phrase())
        return children[0] if len(children) == 1 else And(tuple(children))

    def parse_phrase(self) -> Node:
        node = self.parse_not()
        while (token := self.peek()) is not None and token[0] == "dist":
            self.take()
            node = _follow(node, int(token[1]), self.parse_not())
        return node

    def parse_not(self) -> Node:
        token = self.take()
        if token == ("op", "!"):
            return Not(self.parse_not())
        if token == ("op", "("):
            node = self.parse_or()
            if self.take() != ("op", ")"):
                raise QuerySyntaxError("unbalanced parentheses in tsquery")
            return node
        if token[0] == "term":
            return Term(token[1])
        raise QuerySyntaxError(f"unexpected {token[1]!r} in tsquery")


def _words(node: Node) -> tuple[tuple[int, str], ...] | None:
    if isinstance(node, Term):
        return ((0, node.lexeme),)
    if isinstance(node, Phrase):
        return node.words
    return None


def _follow(left: Node, distance: int, right: Node) -> Node:
    """``left <distance> right``: one phrase when both sides are words or phrases; otherwise
    (an alternative or an exclusion inside a phrase) both sides must match, anywhere."""
    first, second = _words(left), _words(right)
    if first is None or second is None:
        return And((left, right))
    shift = max(offset for offset, _ in first) + distance
    return Phrase(first + tuple((offset + shift, word) for offset, word in second))


def parse(text: str) -> Node | None:
    """The tree of a tsquery's text form; None for the empty query (only stop words)."""
    tokens = _tokens(text)
    if not tokens:
        return None
    parser = _Parser(tokens)
    node = parser.parse_or()
    if parser.peek() is not None:
        raise QuerySyntaxError(f"unexpected {parser.peek()!r} after the tsquery")
    return node


def to_tantivy(node: Node, schema: tantivy.Schema) -> tantivy.Query:
    """The Tantivy query matching what ``node`` matches in Postgres, scored with BM25."""
    occur = tantivy.Occur
    if isinstance(node, Term):
        return _any_field(schema, node.lexeme)
    if isinstance(node, Phrase):
        if len(node.words) == 1:
            return _any_field(schema, node.words[0][1])
        return tantivy.Query.boolean_query([
            (occur.Should, _boost(tantivy.Query.phrase_query(schema, name, list(node.words)),
                                  FIELD_BOOSTS[name]))
            for name in FIELD_BOOSTS])
    if isinstance(node, Not):
        return tantivy.Query.boolean_query([(occur.Must, tantivy.Query.all_query()),
                                            (occur.MustNot, to_tantivy(node.child, schema))])
    if isinstance(node, And):
        clauses: list[tuple[Any, tantivy.Query]] = [
            (occur.MustNot, to_tantivy(child.child, schema)) if isinstance(child, Not)
            else (occur.Must, to_tantivy(child, schema)) for child in node.children]
        if all(kind == occur.MustNot for kind, _ in clauses):
            clauses.append((occur.Must, tantivy.Query.all_query()))
        return tantivy.Query.boolean_query(clauses)
    return tantivy.Query.boolean_query([(occur.Should, to_tantivy(child, schema))
                                        for child in dict.fromkeys(node.children)])


def _boost(query: tantivy.Query, boost: float) -> tantivy.Query:
    return query if boost == 1.0 else tantivy.Query.boost_query(query, boost)


def _any_field(schema: tantivy.Schema, lexeme: str) -> tantivy.Query:
    return tantivy.Query.boolean_query([
        (tantivy.Occur.Should, _boost(tantivy.Query.term_query(schema, name, lexeme), boost))
        for name, boost in FIELD_BOOSTS.items()])
