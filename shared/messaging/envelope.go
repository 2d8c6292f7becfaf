package messaging

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/ThreeDotsLabs/watermill"
	"github.com/ThreeDotsLabs/watermill/message"

	"github.com/gfnpipeline/contracts"
)

type correlationKey struct{}

// withCorrelation makes messages published while handling one carry its correlation id.
func withCorrelation(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, correlationKey{}, id)
}

// Encode builds the transport message for m: a JSON body plus the CloudEvents attributes.
// The watermill UUID is the CloudEvents id, so no extra attribute is spent on it.
func Encode(ctx context.Context, source string, m contracts.Message) (*message.Message, error) {
	body, err := json.Marshal(m)
	if err != nil {
		return nil, fmt.Errorf("encode %s: %w", m.MessageType(), err)
	}
	corr, _ := ctx.Value(correlationKey{}).(string)
	if corr == "" {
		corr = m.Run()
	}
	id := watermill.NewUUID()
	msg := message.NewMessage(id, body)
	msg.Metadata = message.Metadata{
		contracts.AttrID:            id,
		contracts.AttrSource:        source,
		contracts.AttrType:          m.MessageType(),
		contracts.AttrTime:          time.Now().UTC().Format(time.RFC3339Nano),
		contracts.AttrSpecVersion:   contracts.SpecVersion,
		contracts.AttrEventType:     m.EventType(),
		contracts.AttrRunID:         m.Run(),
		contracts.AttrCorrelationID: corr,
	}
	return msg, nil
}
