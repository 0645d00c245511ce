package ws

import (
	"net"
	"net/http"
	"strings"
	"text/template"

	"protolab/internal/event"
)

// serveWSDL sends the contract, with the service's address taken from the
// request's Host, so that it is right on any port and in a lab network.
func (s *server) serveWSDL(w http.ResponseWriter, r *http.Request) {
	loc := "http://" + s.hostFor(r) + Path
	var b strings.Builder
	if err := wsdlTemplate.Execute(&b, newWSDLData(loc)); err != nil {
		s.log.Error("ws: rendering the WSDL", "err", err)
		http.Error(w, "the WSDL could not be rendered", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/xml; charset=utf-8")
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		w.Write([]byte(b.String()))
	}
	s.events.Publish(event.Event{Service: "ws", Kind: KindWSDL, Client: r.RemoteAddr,
		Attrs: map[string]string{"path": clip(r.URL.RequestURI(), 100), "location": clip(loc, 300)}})
}

// hostFor is the host:port clients reached the service at: the request's
// Host when it is a plain host name or address, else the listener's.
func (s *server) hostFor(r *http.Request) string {
	h := r.Host
	if h == "" || len(h) > 262 {
		return s.self
	}
	host := h
	if sh, _, err := net.SplitHostPort(h); err == nil {
		host = sh
	} else if strings.HasPrefix(h, "[") && strings.HasSuffix(h, "]") {
		host = h[1 : len(h)-1]
	}
	if net.ParseIP(host) != nil {
		return h
	}
	for _, c := range host {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '.') {
			return s.self
		}
	}
	if host == "" {
		return s.self
	}
	return h
}

// wsdlData fills the template.
type wsdlData struct {
	Location   string
	TNS        string
	Operations []wsdlOperation
}

// wsdlOperation is what the template says of an operation.
type wsdlOperation struct{ Name, Action string }

func newWSDLData(loc string) wsdlData {
	d := wsdlData{Location: loc, TNS: TargetNamespace}
	for _, op := range operations {
		d.Operations = append(d.Operations, wsdlOperation{Name: op.name, Action: op.action()})
	}
	return d
}

// wsdlTemplate is the WSDL 1.1 document: XML Schema types, messages, one
// port type, a SOAP 1.1 and a SOAP 1.2 binding (document/literal), and the
// service with both ports. text/template does no escaping: Location is
// checked by hostFor and holds no XML special characters.
var wsdlTemplate = template.Must(template.New("wsdl").Parse(`<?xml version="1.0" encoding="utf-8"?>
<wsdl:definitions name="Directory"
    targetNamespace="{{.TNS}}"
    xmlns:tns="{{.TNS}}"
    xmlns:wsdl="http://schemas.xmlsoap.org/wsdl/"
    xmlns:soap="http://schemas.xmlsoap.org/wsdl/soap/"
    xmlns:soap12="http://schemas.xmlsoap.org/wsdl/soap12/"
    xmlns:xsd="http://www.w3.org/2001/XMLSchema">

  <wsdl:documentation>The directory of the lab network (lab.test): look a host up,
    leave a note in a lab mailbox. LookupHostSecure needs a WS-Security 1.0
    UsernameToken (PasswordText or PasswordDigest) in a wsse:Security header.</wsdl:documentation>

  <wsdl:types>
    <xsd:schema targetNamespace="{{.TNS}}" elementFormDefault="qualified">
      <xsd:element name="LookupHost">
        <xsd:complexType>
          <xsd:sequence>
            <xsd:element name="name" type="xsd:string"/>
          </xsd:sequence>
        </xsd:complexType>
      </xsd:element>
      <xsd:element name="LookupHostResponse" type="tns:HostInfo"/>
      <xsd:element name="LookupHostSecure">
        <xsd:complexType>
          <xsd:sequence>
            <xsd:element name="name" type="xsd:string"/>
          </xsd:sequence>
        </xsd:complexType>
      </xsd:element>
      <xsd:element name="LookupHostSecureResponse" type="tns:HostInfo"/>
      <xsd:complexType name="HostInfo">
        <xsd:sequence>
          <xsd:element name="name" type="xsd:string"/>
          <xsd:element name="address" type="xsd:string" minOccurs="0" maxOccurs="unbounded"/>
          <xsd:element name="text" type="xsd:string" minOccurs="0" maxOccurs="unbounded"/>
        </xsd:sequence>
      </xsd:complexType>
      <xsd:element name="SendNote">
        <xsd:complexType>
          <xsd:sequence>
            <xsd:element name="to" type="xsd:string"/>
            <xsd:element name="text" type="xsd:string"/>
            <xsd:element name="subject" type="xsd:string" minOccurs="0"/>
          </xsd:sequence>
        </xsd:complexType>
      </xsd:element>
      <xsd:element name="SendNoteResponse">
        <xsd:complexType>
          <xsd:sequence>
            <xsd:element name="mailbox" type="xsd:string"/>
            <xsd:element name="uid" type="xsd:unsignedInt"/>
          </xsd:sequence>
        </xsd:complexType>
      </xsd:element>
      <xsd:element name="reason" type="xsd:string"/>
    </xsd:schema>
  </wsdl:types>
{{range .Operations}}
  <wsdl:message name="{{.Name}}Request">
    <wsdl:part name="parameters" element="tns:{{.Name}}"/>
  </wsdl:message>
  <wsdl:message name="{{.Name}}Response">
    <wsdl:part name="parameters" element="tns:{{.Name}}Response"/>
  </wsdl:message>
{{end}}
  <wsdl:portType name="DirectoryPortType">{{range .Operations}}
    <wsdl:operation name="{{.Name}}">
      <wsdl:input message="tns:{{.Name}}Request"/>
      <wsdl:output message="tns:{{.Name}}Response"/>
    </wsdl:operation>{{end}}
  </wsdl:portType>

  <wsdl:binding name="DirectorySoap11" type="tns:DirectoryPortType">
    <soap:binding style="document" transport="http://schemas.xmlsoap.org/soap/http"/>{{range .Operations}}
    <wsdl:operation name="{{.Name}}">
      <soap:operation soapAction="{{.Action}}" style="document"/>
      <wsdl:input><soap:body use="literal"/></wsdl:input>
      <wsdl:output><soap:body use="literal"/></wsdl:output>
    </wsdl:operation>{{end}}
  </wsdl:binding>

  <wsdl:binding name="DirectorySoap12" type="tns:DirectoryPortType">
    <soap12:binding style="document" transport="http://schemas.xmlsoap.org/soap/http"/>{{range .Operations}}
    <wsdl:operation name="{{.Name}}">
      <soap12:operation soapAction="{{.Action}}" soapActionRequired="false" style="document"/>
      <wsdl:input><soap12:body use="literal"/></wsdl:input>
      <wsdl:output><soap12:body use="literal"/></wsdl:output>
    </wsdl:operation>{{end}}
  </wsdl:binding>

  <wsdl:service name="Directory">
    <wsdl:port name="DirectorySoap11" binding="tns:DirectorySoap11">
      <soap:address location="{{.Location}}"/>
    </wsdl:port>
    <wsdl:port name="DirectorySoap12" binding="tns:DirectorySoap12">
      <soap12:address location="{{.Location}}"/>
    </wsdl:port>
  </wsdl:service>
</wsdl:definitions>
`))
