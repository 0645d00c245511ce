package labs

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"regexp"
	"regexp/syntax"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Limits on a variable's pattern: what it draws stays short enough to type.
const (
	maxPatternLen = 200 // the pattern's own length
	maxDrawn      = 64  // runes in a drawn value
	maxRepeat     = 32  // {n,m}: n and m at most this
	openRepeat    = 4   // *, + and {n,} draw at most this many more than n
)

// anyChars stand for "." in a pattern.
const anyChars = "abcdefghijklmnopqrstuvwxyz0123456789"

// checkPattern says what is wrong with a variable's pattern, if anything:
// it must be a valid regular expression, short, without huge repetitions,
// and unable to match the empty string (every learner gets a value).
func checkPattern(p string) error {
	if len(p) > maxPatternLen {
		return fmt.Errorf("pattern: at most %d characters", maxPatternLen)
	}
	re, err := syntax.Parse(p, syntax.Perl)
	if err != nil {
		return fmt.Errorf("pattern %q: not a valid regular expression: %v", p, err)
	}
	if err := checkNode(re); err != nil {
		return fmt.Errorf("pattern %q: %v", p, err)
	}
	if maxLen(re) > maxDrawn {
		return fmt.Errorf("pattern %q: %v; bound its repetitions", p, errTooLong)
	}
	if regexp.MustCompile(`^(?:` + p + `)$`).MatchString("") {
		return fmt.Errorf("pattern %q can draw an empty value: use + or {n} rather than * or ?, so that every learner gets a value", p)
	}
	// Draw a few times to find what cannot be drawn (an impossible class, a
	// $ in the middle...).
	for i := uint64(0); i < 32; i++ {
		if _, err := drawPattern(p, rand.New(rand.NewPCG(i, i+1))); err != nil {
			return err
		}
	}
	return nil
}

// maxLen is the most runes re draws.
func maxLen(re *syntax.Regexp) int {
	sub := 0
	if len(re.Sub) > 0 {
		sub = maxLen(re.Sub[0])
	}
	n := 0
	switch re.Op {
	case syntax.OpLiteral:
		n = len(re.Rune)
	case syntax.OpCharClass, syntax.OpAnyChar, syntax.OpAnyCharNotNL:
		n = 1
	case syntax.OpCapture, syntax.OpQuest:
		n = sub
	case syntax.OpStar:
		n = openRepeat * sub
	case syntax.OpPlus:
		n = (1 + openRepeat) * sub
	case syntax.OpRepeat:
		hi := re.Max
		if hi < 0 {
			hi = re.Min + openRepeat
		}
		n = hi * sub
	case syntax.OpConcat:
		for _, s := range re.Sub {
			n += maxLen(s)
		}
	case syntax.OpAlternate:
		for _, s := range re.Sub {
			n = max(n, maxLen(s))
		}
	}
	return min(n, 1<<20)
}

func checkNode(re *syntax.Regexp) error {
	switch re.Op {
	case syntax.OpRepeat:
		if re.Min > maxRepeat || re.Max > maxRepeat {
			return fmt.Errorf("repeat at most %d times", maxRepeat)
		}
	case syntax.OpNoMatch:
		return errors.New("it matches nothing")
	case syntax.OpWordBoundary, syntax.OpNoWordBoundary:
		return errors.New(`\b and \B cannot be drawn from; drop them`)
	}
	for _, s := range re.Sub {
		if err := checkNode(s); err != nil {
			return err
		}
	}
	return nil
}

// drawPattern returns a value that matches the regular expression p, drawn
// with rng: literals as written, a character of each class (printable
// ASCII ones when it has any), one branch of each alternation, a number of
// repetitions within the bounds.
func drawPattern(p string, rng *rand.Rand) (string, error) {
	re, err := syntax.Parse(p, syntax.Perl)
	if err != nil {
		return "", fmt.Errorf("pattern %q: not a valid regular expression: %v", p, err)
	}
	if err := checkNode(re); err != nil {
		return "", fmt.Errorf("pattern %q: %v", p, err)
	}
	var b strings.Builder
	if err := draw(re, rng, &b); err != nil {
		return "", fmt.Errorf("pattern %q: %v", p, err)
	}
	v := b.String()
	if !regexp.MustCompile(`^(?:` + p + `)$`).MatchString(v) {
		return "", fmt.Errorf("pattern %q: cannot draw a value that matches it (drew %q); keep to letters, classes, groups, | and repetitions", p, v)
	}
	return v, nil
}

var errTooLong = fmt.Errorf("it draws values longer than %d characters", maxDrawn)

func draw(re *syntax.Regexp, rng *rand.Rand, b *strings.Builder) error {
	if utf8.RuneCountInString(b.String()) > maxDrawn {
		return errTooLong
	}
	switch re.Op {
	case syntax.OpEmptyMatch, syntax.OpBeginLine, syntax.OpEndLine, syntax.OpBeginText, syntax.OpEndText:
		return nil
	case syntax.OpLiteral:
		for _, r := range re.Rune {
			b.WriteRune(r)
		}
	case syntax.OpCharClass:
		r, ok := classRune(re.Rune, rng)
		if !ok {
			return errors.New("a character class has no printable character")
		}
		b.WriteRune(r)
	case syntax.OpAnyChar, syntax.OpAnyCharNotNL:
		b.WriteByte(anyChars[rng.IntN(len(anyChars))])
	case syntax.OpCapture:
		return draw(re.Sub[0], rng, b)
	case syntax.OpConcat:
		for _, s := range re.Sub {
			if err := draw(s, rng, b); err != nil {
				return err
			}
		}
	case syntax.OpAlternate:
		return draw(re.Sub[rng.IntN(len(re.Sub))], rng, b)
	case syntax.OpStar, syntax.OpPlus, syntax.OpQuest, syntax.OpRepeat:
		lo, hi := 0, 1
		switch re.Op {
		case syntax.OpStar:
			hi = openRepeat
		case syntax.OpPlus:
			lo, hi = 1, 1+openRepeat
		case syntax.OpRepeat:
			lo, hi = re.Min, re.Max
			if hi < 0 {
				hi = lo + openRepeat
			}
		}
		n := lo + rng.IntN(hi-lo+1)
		for i := 0; i < n; i++ {
			if err := draw(re.Sub[0], rng, b); err != nil {
				return err
			}
		}
	default:
		return fmt.Errorf("%s cannot be drawn from", re)
	}
	if utf8.RuneCountInString(b.String()) > maxDrawn {
		return errTooLong
	}
	return nil
}

// classRune picks a character of a class (pairs of lo, hi): a printable
// ASCII one when the class has any, else a printable one among its first.
func classRune(ranges []rune, rng *rand.Rand) (rune, bool) {
	var cands []rune
	for i := 0; i+1 < len(ranges); i += 2 {
		for r := max(ranges[i], '!'); r <= min(ranges[i+1], '~'); r++ {
			cands = append(cands, r)
		}
	}
	if len(cands) == 0 {
		for i := 0; i+1 < len(ranges) && len(cands) < 256; i += 2 {
			for r := ranges[i]; r <= ranges[i+1] && len(cands) < 256; r++ {
				if unicode.IsPrint(r) && !unicode.IsSpace(r) {
					cands = append(cands, r)
				}
			}
		}
	}
	if len(cands) == 0 {
		return 0, false
	}
	return cands[rng.IntN(len(cands))], true
}
