package lesson

import "fmt"

var sprintf = fmt.Sprintf
