package activities

import (
	"errors"
	"net/url"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestFailedAttemptsKeepTheAddressesToken: a robot's address carries its
// token in the query; a failed attempt's error, which the log and the
// delivery's record keep, names the address without it.
func TestFailedAttemptsKeepTheAddressesToken(t *testing.T) {
	for _, address := range []string{
		"https://oapi.dingtalk.com/robot/send?access_token=SECRET123",
		"https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=SECRET123",
		"https://user:SECRET123@hooks.example.gov.cn/x",
	} {
		// As http.Client.Do returns it.
		err := withoutQuery(&url.Error{Op: "Post", URL: address, Err: errors.New("dial tcp: i/o timeout")})
		require.NotContains(t, err.Error(), "SECRET123", address)
		require.Contains(t, err.Error(), "i/o timeout")
		require.Contains(t, err.Error(), "?…", "it says that something was left out")
	}
	plain := &url.Error{Op: "Post", URL: "https://hooks.example.gov.cn/x", Err: errors.New("refused")}
	require.Equal(t, `Post "https://hooks.example.gov.cn/x": refused`, withoutQuery(plain).Error())
}
