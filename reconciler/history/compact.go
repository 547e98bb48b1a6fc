package history

// maxJSONDepth is encoding/json's limit of nested arrays and objects.
const maxJSONDepth = 10000

// appendCompact appends src without insignificant whitespace to dst and
// reports whether src is one JSON value, as json.Compact does (which
// FuzzAppendCompact holds it to) at a fraction of its cost: every record
// of an append passes through it. It does not check UTF-8.
func appendCompact(dst, src []byte) ([]byte, bool) {
	c := compactor{src: src, out: dst}
	c.space()
	if !c.value(0) {
		return dst, false
	}
	c.space()
	return c.out, c.i == len(src)
}

// compactor reads src from i, appending what is significant to out.
type compactor struct {
	src []byte
	i   int
	out []byte
}

// space skips whitespace.
func (c *compactor) space() {
	for c.i < len(c.src) {
		switch c.src[c.i] {
		case ' ', '\t', '\n', '\r':
			c.i++
		default:
			return
		}
	}
}

// value reads one value at nesting depth.
func (c *compactor) value(depth int) bool {
	if c.i >= len(c.src) {
		return false
	}
	switch b := c.src[c.i]; {
	case b == '{' || b == '[':
		return depth < maxJSONDepth && c.container(depth+1)
	case b == '"':
		return c.str()
	case b == '-' || b >= '0' && b <= '9':
		return c.number()
	case b == 't':
		return c.literal("true")
	case b == 'f':
		return c.literal("false")
	case b == 'n':
		return c.literal("null")
	}
	return false
}

// container reads an object or an array.
func (c *compactor) container(depth int) bool {
	open := c.src[c.i]
	closing := byte(']')
	if open == '{' {
		closing = '}'
	}
	c.out = append(c.out, open)
	c.i++
	c.space()
	if c.i < len(c.src) && c.src[c.i] == closing {
		c.out = append(c.out, closing)
		c.i++
		return true
	}
	for {
		if open == '{' {
			if c.i >= len(c.src) || c.src[c.i] != '"' || !c.str() {
				return false
			}
			c.space()
			if c.i >= len(c.src) || c.src[c.i] != ':' {
				return false
			}
			c.out = append(c.out, ':')
			c.i++
			c.space()
		}
		if !c.value(depth) {
			return false
		}
		c.space()
		if c.i >= len(c.src) {
			return false
		}
		switch c.src[c.i] {
		case ',':
			c.out = append(c.out, ',')
			c.i++
			c.space()
		case closing:
			c.out = append(c.out, closing)
			c.i++
			return true
		default:
			return false
		}
	}
}

// str reads a string: no control characters, only JSON's escapes.
func (c *compactor) str() bool {
	start := c.i
	for c.i++; c.i < len(c.src); c.i++ {
		switch b := c.src[c.i]; {
		case b == '"':
			c.i++
			c.out = append(c.out, c.src[start:c.i]...)
			return true
		case b < 0x20:
			return false
		case b == '\\':
			c.i++
			if c.i >= len(c.src) {
				return false
			}
			switch c.src[c.i] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
			case 'u':
				if c.i+4 >= len(c.src) || !isHex(c.src[c.i+1]) || !isHex(c.src[c.i+2]) || !isHex(c.src[c.i+3]) || !isHex(c.src[c.i+4]) {
					return false
				}
				c.i += 4
			default:
				return false
			}
		}
	}
	return false
}

func isHex(b byte) bool {
	return b >= '0' && b <= '9' || b >= 'a' && b <= 'f' || b >= 'A' && b <= 'F'
}

// number reads -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
func (c *compactor) number() bool {
	start := c.i
	if c.src[c.i] == '-' {
		c.i++
	}
	switch {
	case c.i < len(c.src) && c.src[c.i] == '0':
		c.i++
	case c.digits() == 0:
		return false
	}
	if c.i < len(c.src) && c.src[c.i] == '.' {
		c.i++
		if c.digits() == 0 {
			return false
		}
	}
	if c.i < len(c.src) && (c.src[c.i] == 'e' || c.src[c.i] == 'E') {
		c.i++
		if c.i < len(c.src) && (c.src[c.i] == '+' || c.src[c.i] == '-') {
			c.i++
		}
		if c.digits() == 0 {
			return false
		}
	}
	c.out = append(c.out, c.src[start:c.i]...)
	return true
}

// digits skips decimal digits and returns how many.
func (c *compactor) digits() int {
	n := 0
	for c.i < len(c.src) && c.src[c.i] >= '0' && c.src[c.i] <= '9' {
		c.i++
		n++
	}
	return n
}

// literal reads the literal lit.
func (c *compactor) literal(lit string) bool {
	if len(c.src)-c.i < len(lit) || string(c.src[c.i:c.i+len(lit)]) != lit {
		return false
	}
	c.out = append(c.out, lit...)
	c.i += len(lit)
	return true
}
