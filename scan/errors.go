package scan

import (
	"encoding/json"
	"errors"
	"strconv"

	"github.com/valyala/fasthttp"
	"github.com/yima-dev/yima/reward"
	"github.com/yima-dev/yima/store"
)

// Codes the HTTP layer adds to reward's.
const (
	codeUnauthorized     reward.Code = "unauthorized"
	codeForbidden                    = reward.CodeForbidden
	codeBodyTooLarge     reward.Code = "body_too_large"
	codeMethodNotAllowed reward.Code = "method_not_allowed"
	codeRouteNotFound    reward.Code = "route_not_found"
	codeBadJSON          reward.Code = "invalid_json"
	codeShuttingDown     reward.Code = "shutting_down"
	codeBusy             reward.Code = "busy"
)

// statusOf maps every error code to its HTTP status. A code missing here is
// a 500, which a test catches.
var statusOf = map[reward.Code]int{
	reward.CodeInvalidRequest:    fasthttp.StatusBadRequest,
	codeBadJSON:                  fasthttp.StatusBadRequest,
	reward.CodeInvalidCode:       fasthttp.StatusBadRequest,
	codeUnauthorized:             fasthttp.StatusUnauthorized,
	reward.CodeForbidden:         fasthttp.StatusForbidden,
	reward.CodeKeyRetired:        fasthttp.StatusForbidden,
	reward.CodeBatchInactive:     fasthttp.StatusForbidden,
	reward.CodeBatchRevoked:      fasthttp.StatusForbidden,
	reward.CodeUnknownBatch:      fasthttp.StatusNotFound,
	reward.CodeNotFound:          fasthttp.StatusNotFound,
	codeRouteNotFound:            fasthttp.StatusNotFound,
	codeMethodNotAllowed:         fasthttp.StatusMethodNotAllowed,
	reward.CodeAlreadyRedeemed:   fasthttp.StatusConflict,
	reward.CodeIdempotencyReused: fasthttp.StatusUnprocessableEntity,
	codeBodyTooLarge:             fasthttp.StatusRequestEntityTooLarge,
	reward.CodeUnavailable:       fasthttp.StatusServiceUnavailable,
	codeShuttingDown:             fasthttp.StatusServiceUnavailable,
	codeBusy:                     fasthttp.StatusTooManyRequests,
	reward.CodeInternal:          fasthttp.StatusInternalServerError,

	reward.CodeDailyLimit:           fasthttp.StatusTooManyRequests,
	reward.CodeCampaignEnded:        fasthttp.StatusForbidden,
	reward.CodeCampaignNotStarted:   fasthttp.StatusForbidden,
	reward.CodeBudgetExhausted:      fasthttp.StatusForbidden,
	reward.CodeNotInRegion:          fasthttp.StatusForbidden,
	reward.CodeNotInStore:           fasthttp.StatusForbidden,
	reward.CodeNotForSource:         fasthttp.StatusForbidden,
	reward.CodeNewMembersOnly:       fasthttp.StatusForbidden,
	reward.CodeTierTooLow:           fasthttp.StatusForbidden,
	reward.CodeInsufficientPoints:   fasthttp.StatusConflict,
	reward.CodeAliasTaken:           fasthttp.StatusConflict,
	reward.CodeAlreadyBound:         fasthttp.StatusConflict,
	reward.CodeUnknownGuide:         fasthttp.StatusNotFound,
	reward.CodeAlreadyUsed:          fasthttp.StatusConflict,
	reward.CodeExpired:              fasthttp.StatusGone,
	reward.CodeEventsCompacted:      fasthttp.StatusGone,
	reward.CodeWebhookLimit:         fasthttp.StatusConflict,
	reward.CodeCouponVoid:           fasthttp.StatusConflict,
	reward.CodeGuideExists:          fasthttp.StatusConflict,
	reward.CodeUnknownStore:         fasthttp.StatusNotFound,
	reward.CodeEnrolmentExpired:     fasthttp.StatusGone,
	reward.CodeEnrolmentReplaced:    fasthttp.StatusGone,
	reward.CodeEnrolmentPending:     fasthttp.StatusConflict,
	reward.CodeEnrolmentDecided:     fasthttp.StatusConflict,
	reward.CodeAlreadyGuide:         fasthttp.StatusConflict,
	reward.CodeGuideLeft:            fasthttp.StatusConflict,
	reward.CodeAlreadyVoided:        fasthttp.StatusConflict,
	reward.CodeBatchReleased:        fasthttp.StatusConflict,
	reward.CodeAmountOutOfRange:     fasthttp.StatusUnprocessableEntity,
	reward.CodePayoutHeld:           fasthttp.StatusForbidden,
	reward.CodeBaseURLUnset:         fasthttp.StatusConflict,
	reward.CodeWrongStore:           fasthttp.StatusForbidden,
	reward.CodePeriodNotEnded:       fasthttp.StatusConflict,
	reward.CodePeriodClosed:         fasthttp.StatusConflict,
	reward.CodeSettlementUnfinished: fasthttp.StatusConflict,
	reward.CodeOutOfStock:           fasthttp.StatusConflict,
	reward.CodeLimitReached:         fasthttp.StatusConflict,
	reward.CodeRewardNotStarted:     fasthttp.StatusForbidden,
	reward.CodeRewardEnded:          fasthttp.StatusForbidden,
	reward.CodeVoucherDuplicate:     fasthttp.StatusConflict,
	reward.CodeAlreadyShipped:       fasthttp.StatusConflict,
	reward.CodeAlreadyCancelled:     fasthttp.StatusConflict,
	reward.CodeInsufficientGrowth:   fasthttp.StatusConflict,
	reward.CodeOrderExists:          fasthttp.StatusConflict,
	reward.CodeAlreadyRefunded:      fasthttp.StatusConflict,
	reward.CodeOrderRateUnset:       fasthttp.StatusConflict,

	codeWeChatRefused:          fasthttp.StatusUnauthorized,
	reward.CodeInvalidPhone:    fasthttp.StatusBadRequest,
	reward.CodeOTPNone:         fasthttp.StatusBadRequest,
	reward.CodeOTPWrong:        fasthttp.StatusUnauthorized,
	reward.CodeOTPExpired:      fasthttp.StatusUnauthorized,
	reward.CodeOTPUsed:         fasthttp.StatusUnauthorized,
	reward.CodeOTPTooManyTries: fasthttp.StatusTooManyRequests,
	reward.CodeSMSTooSoon:      fasthttp.StatusTooManyRequests,
	reward.CodeSMSDailyLimit:   fasthttp.StatusTooManyRequests,
	codeRateLimited:            fasthttp.StatusTooManyRequests,
	codeLockedOut:              fasthttp.StatusTooManyRequests,
	reward.CodePrintLimit:      fasthttp.StatusForbidden,
	reward.CodePINRequired:     fasthttp.StatusForbidden,
	reward.CodeWrongPIN:        fasthttp.StatusForbidden,
	reward.CodePINLocked:       fasthttp.StatusTooManyRequests,
}

// ErrorBody is the JSON of every error answer, {"error":{"code","message"}};
// package scan/client reads it back.
type ErrorBody struct {
	Error struct {
		Code    reward.Code    `json:"code"`
		Message string         `json:"message"`
		Details map[string]any `json:"details,omitempty"`
	} `json:"error"`
}

// writeError answers with err as JSON. It is the only function that turns
// an error into an HTTP status.
func writeError(ctx *fasthttp.RequestCtx, err error) {
	var re *reward.Error
	if !errors.As(err, &re) {
		re = &reward.Error{Code: reward.CodeInternal, Message: "internal error; the request may be retried with the same request_id"}
	}
	status, ok := statusOf[re.Code]
	if !ok {
		status = fasthttp.StatusInternalServerError
	}
	var body ErrorBody
	body.Error.Code, body.Error.Message, body.Error.Details = re.Code, re.Message, re.Details
	raw, _ := json.Marshal(body)
	ctx.SetStatusCode(status)
	ctx.SetContentType("application/json")
	ctx.SetBody(append(raw, '\n'))
	switch status {
	case fasthttp.StatusServiceUnavailable:
		ctx.Response.Header.Set("Retry-After", "1")
	case fasthttp.StatusTooManyRequests:
		if s, ok := re.Details["retry_after_seconds"].(int); ok {
			ctx.Response.Header.Set("Retry-After", strconv.Itoa(s))
		}
	case fasthttp.StatusUnauthorized:
		// RFC 7235 §3.1: a 401 must say which scheme to use.
		ctx.Response.Header.Set("WWW-Authenticate", `Bearer realm="yima"`)
	}
}

func errorf(code reward.Code, format string, args ...any) error {
	return reward.Errorf(code, format, args...)
}

// public is what the caller is told of err. An internal error's detail
// (storage error text, a Go error from any package) is logged with the
// request's id and replaced by a message that quotes the id, so that the
// caller can report it and the operator find it; coded errors pass as
// they are, their messages written for the caller.
func (s *Server) public(ctx *fasthttp.RequestCtx, err error) error {
	var re *reward.Error
	if errors.As(err, &re) && re.Code != reward.CodeInternal {
		// A database that does not answer is logged by the store, once
		// for the outage, not once for each request refused meanwhile.
		if re.Err != nil && re.Code == reward.CodeUnavailable && !errors.Is(re.Err, store.ErrBusy) {
			s.log.Warn("request not decided", "id", RequestID(ctx), "path", string(ctx.Path()), "err", re.Err)
		}
		return err
	}
	id := RequestID(ctx)
	s.log.Error("internal error", "id", id, "method", string(ctx.Method()), "path", string(ctx.Path()), "err", err)
	return &reward.Error{Code: reward.CodeInternal, Message: "internal error (request " + id + "); it was logged. The request may be retried with the same request_id; if it fails again, report the request id to the operator"}
}
